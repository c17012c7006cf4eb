"""`python -m xnet.predict run=<training run dir or .ckpt> input=<catalog> output=<file>`.

Classifies every row of a catalog (the ~1M 4XMM-DR13 sources, or a user's own file) with a trained
run, in chunks: only the needed columns are read (FITS memory-mapped through astropy), features
are built by the same functions as in training, scaled by the checkpoint's fitted scaler and
passed through the network; each chunk is written out before the next is read, so memory stays
bounded whatever the input's size. A CV run predicts with the mean of its fold models'
probabilities. Writes one row per input row: id and position, predicted class and probability, one
probability per class, a `flag` saying why a prediction should not be trusted (xnet.predict.flags)
and `in_training` (the row's id is one the run was trained or validated on). With a labelled input,
also the training metrics block on the rows not `in_training` (printed, and
`<output name>.metrics.json` beside the output: `xnet.predict.report`). A failed write (disk full,
file-size limit) is one line; no output is left.

Here: the command, and the steps of one prediction in order; the work is in the modules of
`xnet.predict` (`plan`: which columns; `chunks`: one chunk; `forward`: the models; `writers`:
the table; `report`: what it says about itself).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
from omegaconf import DictConfig

from xnet.config.compose import CONFIG_DIR
from xnet.config.schema import check_overrides, validate_config
from xnet.errors import XnetError, exit_on_error, quiet_broken_pipe, stop_on_signals
from xnet.runtime import startup

if TYPE_CHECKING:  # pandas, pyarrow and astropy load in predict(): --help stays light
    from xnet.data.tables import TableInfo
    from xnet.predict.chunks import Tally
    from xnet.predict.flags import RowFlags
    from xnet.predict.plan import InputPlan
    from xnet.predict.trained_run import TrainedRun

log = logging.getLogger(__name__)

#: the keys a prediction cannot go without, and what to pass
REQUIRED = (
    ("run", "a training run directory or .ckpt file"),
    ("input", "the catalog to classify"),
    ("output", "a .parquet, .csv, .fits or .vot file"),
)


def progress_bar(setting, total: int | None):
    from tqdm import tqdm

    disable = {"auto": None, True: False, False: True}.get(setting, None)
    return tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        disable=disable,
        desc="xnet.predict",
        dynamic_ncols=True,
    )


@dataclass
class Job:
    """One prediction's inputs, resolved and checked before any row is read."""

    cfg: DictConfig | Mapping
    run: TrainedRun
    info: TableInfo
    plan: InputPlan
    output: Path
    metrics_path: Path | None  # a labelled input's metrics, beside the output


def predict(cfg: DictConfig | Mapping) -> dict:
    """Classify `cfg.input` with `cfg.run` into `cfg.output`; returns a summary (and the metrics
    block for a labelled input)."""
    from xnet.predict.report import check_training_ids, report_metrics, summarize

    started = time.perf_counter()
    job = prepare(cfg)
    flags = row_flags(job)
    log_input(job)
    check_training_ids(job.run, job.plan)
    tally, metrics, notes = classify(job, flags)
    seconds = time.perf_counter() - started
    summary = summarize(tally, job.run, flags, job.plan, job.output, seconds)
    if metrics is not None:
        report_metrics(metrics, job.metrics_path, said=notes)
        summary["metrics"] = metrics
    return summary


def prepare(cfg: DictConfig | Mapping) -> Job:
    """The config checked, the output checked, the run loaded, the input's table and its plan
    resolved: every refusal that needs no row of the input."""
    from xnet.data.tables import table_info
    from xnet.predict.columns import check_names
    from xnet.predict.output import check_not_input, check_output, refuse_existing
    from xnet.predict.output import metrics_path as metrics_file
    from xnet.predict.plan import read_options, resolve_catalog
    from xnet.predict.trained_run import load_run

    for key, hint in REQUIRED:
        if not cfg.get(key):
            raise XnetError(f"{key}= is required: pass {key}=<{hint}>")
    validate_config(cfg, "predict")
    overwrite = bool(cfg.get("overwrite", False))
    output = check_output(cfg["output"])
    check_not_input(output, cfg["input"])
    run = load_run(cfg["run"])
    info = table_info(cfg["input"], **read_options(cfg.get("catalog"), run))
    heavy: tuple[str, ...] = ()
    if int(cfg.get("explain") or 0) > 0:  # the attribution libraries, under the paused collector
        from xnet.predict.explain import modules

        heavy = modules(run)
    # the readers for this input are imported (`python -m xnet.predict` paused collection)
    startup.resume(*heavy)
    if info.note:  # e.g. which of several FITS tables is read
        log.warning("%s", info.note)
    plan = resolve_catalog(cfg.get("catalog"), info, run)
    check_names(plan, run.classes, output)
    metrics_path = metrics_file(output) if plan.label else None
    refuse_existing([p for p in (output, metrics_path) if p is not None], overwrite, output)
    replaced = [str(p) for p in (output, metrics_path) if p is not None and p.exists()]
    if replaced:
        log.info("overwrite=true: replacing %s", " and ".join(replaced))
    if "torch" in sys.modules:  # a checkpoint without a NumPy export was loaded with torch
        sys.modules["torch"].set_num_threads(int(cfg.get("num_threads", 1)))
    return Job(cfg, run, info, plan, output, metrics_path)


def row_flags(job: Job) -> RowFlags:
    """The run's flag rules on the input's rows, saying which flags are off and why."""
    from xnet.predict.flags import FlagRules, RowFlags, TrainingStats
    from xnet.predict.plan import FLAG_INPUTS

    run, plan = job.run, job.plan
    stats = TrainingStats.from_states([m.state for m in run.members], run.features)
    if stats is None:
        log.warning(
            "run %s: checkpoint has no training feature statistics; 'missing' and 'out_of_range' "
            "flags are off",
            run.source,
        )
    flags = RowFlags(run.features, stats, FlagRules.from_config(job.cfg.get("flags") or {}))
    for canon in FLAG_INPUTS:
        if canon not in plan.flag_inputs:
            log.info(
                "catalog '%s' maps no '%s' column: no %s flag",
                plan.name,
                canon,
                "poor_quality" if canon == "sum_flag" else "extended",
            )
    return flags


def log_input(job: Job) -> None:
    info, plan, run = job.info, job.plan, job.run
    log.info(
        "%s: %s, catalog config '%s'; model: %d classes, %d features (%s)",
        info.path,
        f"{info.n_rows:,} rows" if info.n_rows is not None else "rows counted as they are read",
        plan.name,
        len(run.classes),
        len(run.features),
        ", ".join(run.features),
    )


def classify(job: Job, flags: RowFlags) -> tuple[Tally, dict | None, list[str]]:
    """Every chunk of the input classified and written; the tally, the metrics block (labelled
    input) and the notes already said. An error on the way leaves no output."""
    from threadpoolctl import threadpool_limits  # BLAS threads only spin on a small MLP

    from xnet.data.tables import iter_table_chunks
    from xnet.predict.chunks import Tally, predict_chunk
    from xnet.predict.columns import provenance
    from xnet.predict.forward import RowThreads
    from xnet.predict.lightcurves import chunk_lightcurves
    from xnet.predict.writers import TableWriter, terminate_as_exit

    cfg, run, info, plan = job.cfg, job.run, job.info, job.plan
    lightcurves = chunk_lightcurves(run, cfg, plan)  # a light-curve run: the input's light curves
    tally = Tally(n_classes=len(run.classes))
    chunk_rows, batch_size = int(cfg.get("chunk_size", 100_000)), int(cfg.get("batch_size", 8192))
    text = [c for c in plan.carried if c not in (plan.ra, plan.dec)]
    meta, workers = output_meta(job), row_threads(cfg.get("workers", "auto"))
    explain = None
    if int(cfg.get("explain") or 0) > 0:  # per row, the top features toward its class
        from xnet.predict.explain import ExplainColumns

        explain = ExplainColumns(run, int(cfg["explain"]), threads=workers)
        meta.update(explain.meta(list(run.classes)))
    rows = RowThreads(workers)
    overwrite, threads = bool(cfg.get("overwrite", False)), int(cfg.get("num_threads", 1))
    with (
        threadpool_limits(threads),
        rows,
        terminate_as_exit(),
        TableWriter(job.output, overwrite, meta, provenance(run, info, plan)) as writer,
        progress_bar(cfg.get("progress", "auto"), info.n_rows) as bar,
    ):
        for chunk in iter_table_chunks(info, plan.read, chunk_rows, text=text):
            batch = predict_chunk(
                chunk, run, plan, flags, info.path, batch_size, tally, rows, explain, lightcurves
            )
            writer.write(batch)
            bar.update(len(chunk.rows))
        if lightcurves is not None:
            lightcurves.finish(info.path)
        metrics, notes = finish(job, tally)
    return tally, metrics, notes


def output_meta(job: Job) -> dict:
    """{output column: (unit, description, UCD)}, with a FITS input's units (TUNITn)."""
    from xnet.predict.columns import column_meta, input_units

    meta = column_meta(job.plan, list(job.run.classes), job.run)
    for column, unit in input_units(job.info, job.plan.carried).items():
        meta[column] = (unit, *meta[column][1:])
    return meta


def finish(job: Job, tally: Tally) -> tuple[dict | None, list[str]]:
    """After the last chunk, before the output is published: refuse an input with no usable row,
    say which values were read as missing, and score a labelled input."""
    from xnet.data.extreme import unread_message
    from xnet.predict.report import labelled_metrics

    run, info, plan = job.run, job.info, job.plan
    if tally.rows == 0:
        raise XnetError(f"{info.path}: holds no data rows")
    if tally.usable + tally.not_classified == 0:
        raise XnetError(
            f"{info.path}: every model feature ({', '.join(run.features)}) is missing in all "
            f"{tally.rows:,} rows; check the columns mapped in catalog config '{plan.name}' "
            f"(file columns: {', '.join(plan.feature_columns)})"
        )
    unread = unread_message(tally.unread, info.path)  # inf, negative fluxes: said once
    for line in unread:
        log.warning("%s", line)
    notes = ([info.note] if info.note else []) + unread
    if not plan.label:
        return None, notes
    min_support = int((job.cfg.get("report") or {}).get("min_support", 10))
    return labelled_metrics(tally, run, plan, info, job.output, min_support, notes), notes


def row_threads(setting) -> int:
    """`workers`: threads that classify a chunk's rows side by side; auto: this one and one more
    where a core is idle now."""
    if setting in (None, "auto"):
        from xnet.runtime.cores import idle_cores

        return 1 + min(1, idle_cores())
    return int(setting)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_error(lambda: predict(cfg), unfinished="nothing written")


def main() -> None:
    import sys

    stop_on_signals()  # SIGTERM / Ctrl-C: one line, exit 143 / 130, nothing written
    startup.pause()  # until the input's readers are imported (`predict`)
    exit_on_error(lambda: check_overrides(sys.argv[1:], "predict", CONFIG_DIR))
    quiet_broken_pipe(lambda: exit_on_error(_hydra_main, unfinished="nothing written"))


if __name__ == "__main__":
    main()
