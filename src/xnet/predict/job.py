"""`python -m xnet.predict run=<training run dir or .ckpt> input=<catalog> output=<file>`.

Classifies every row of a catalog (the ~1M 4XMM-DR13 sources, or a user's own file) with a trained
run, in chunks: only the needed columns are read (FITS memory-mapped through astropy), features
are built by the same functions as in training, scaled by the checkpoint's fitted scaler and
passed through the network; each chunk is written out before the next is read, so memory stays
bounded whatever the input's size. A CV run predicts with the mean of its fold models'
probabilities. Writes one row per input row: id and position, predicted class and probability, one
probability per class, a `flag` saying why a prediction should not be trusted (xnet.predict.flags)
and `in_training` (the row's id is one the run was trained or validated on). With a labelled input,
also the training metrics block on the rows not `in_training` (printed, and `<output stem>.metrics.json`
beside the output). A failed write (disk full, file-size limit) is one line; no output is left.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import hydra
import numpy as np
from omegaconf import DictConfig

from xnet.runtime import startup
from xnet.config.compose import CONFIG_DIR
from xnet.errors import XnetError, exit_on_error, quiet_broken_pipe, stop_on_signals
from xnet.files import write_json
from xnet.config.schema import check_overrides, validate_config

if (
    TYPE_CHECKING
):  # the work's modules (pandas, pyarrow, astropy) load in predict(): --help stays light
    from xnet.data.tables import TableInfo
    from xnet.predict.chunks import Tally
    from xnet.predict.flags import RowFlags
    from xnet.predict.plan import InputPlan
    from xnet.predict.trained_run import TrainedRun

log = logging.getLogger(__name__)


def _check_names(plan: InputPlan, classes: list[str], output: Path) -> None:
    from xnet.predict.chunks import (
        CONFIDENCE,
        FLAG,
        IN_TRAINING,
        PRED_CLASS,
        PRED_PROB,
        ROW,
        probability_column,
    )

    ours = [
        PRED_CLASS,
        PRED_PROB,
        CONFIDENCE,
        FLAG,
        IN_TRAINING,
        *(probability_column(c) for c in classes),
    ] + ([ROW] if plan.id is None else [])
    clash = sorted({c for c in plan.carried if c.lower() in {o.lower() for o in ours}})
    if clash:
        raise XnetError(
            f"input column {', '.join(map(repr, clash))} (id/position/label in catalog config '{plan.name}') "
            f"has the name of a prediction column; rename it in the file"
        )
    from xnet.data.catalog import probability_column_clashes
    from xnet.predict.writers import check_column_names

    problems = probability_column_clashes(classes)  # a run trained before xnet refused them
    if problems:
        raise XnetError(
            f"the run's classes cannot be written as prediction columns: {'; '.join(problems)}; "
            f"retrain with the classes renamed (`label_map` in the data YAML)"
        )
    check_column_names(output, [*plan.carried, *ours])


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


def predict(cfg: DictConfig | Mapping) -> dict:
    """Classify `cfg.input` with `cfg.run` into `cfg.output`; returns a summary (and the metrics
    block for a labelled input)."""
    from xnet.data.tables import iter_table_chunks, table_info
    from xnet.predict.chunks import RowThreads, Tally, column_meta, predict_chunk
    from xnet.predict.flags import FlagRules, RowFlags, TrainingStats
    from xnet.predict.plan import FLAG_INPUTS, read_options, resolve_catalog
    from xnet.predict.trained_run import load_run
    from xnet.predict.writers import (
        TableWriter,
        check_not_input,
        check_output,
        refuse_existing,
        terminate_as_exit,
    )
    from xnet.predict.writers import (
        metrics_path as metrics_file,
    )

    started = time.perf_counter()
    for key, hint in (
        ("run", "a training run directory or .ckpt file"),
        ("input", "the catalog to classify"),
        ("output", "a .parquet, .csv, .fits or .vot file"),
    ):
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
    _check_names(plan, run.classes, output)
    metrics_path = metrics_file(output) if plan.label else None
    refuse_existing([p for p in (output, metrics_path) if p is not None], overwrite, output)
    replaced = [str(p) for p in (output, metrics_path) if p is not None and p.exists()]
    if replaced:
        log.info("overwrite=true: replacing %s", " and ".join(replaced))
    threads = int(cfg.get("num_threads", 1))
    if "torch" in sys.modules:  # a checkpoint without a NumPy export was loaded with torch
        sys.modules["torch"].set_num_threads(threads)
    stats = TrainingStats.from_states([m.state for m in run.members], run.features)
    if stats is None:
        log.warning(
            "run %s: checkpoint has no training feature statistics; 'missing' and 'out_of_range' flags are off",
            run.source,
        )
    flags = RowFlags(run.features, stats, FlagRules.from_config(cfg.get("flags") or {}))
    for canon in FLAG_INPUTS:
        if canon not in plan.flag_inputs:
            log.info(
                "catalog '%s' maps no '%s' column: no %s flag",
                plan.name,
                canon,
                "poor_quality" if canon == "sum_flag" else "extended",
            )
    log.info(
        "%s: %s, catalog config '%s'; model: %d classes, %d features (%s)",
        info.path,
        f"{info.n_rows:,} rows" if info.n_rows is not None else "rows counted as they are read",
        plan.name,
        len(run.classes),
        len(run.features),
        ", ".join(run.features),
    )
    check_training_ids(run, plan)
    from xnet.predict.lightcurves import chunk_lightcurves

    lightcurves = chunk_lightcurves(run, cfg, plan)  # a light-curve run: the input's light curves
    tally = Tally(n_classes=len(run.classes))
    chunk_rows, batch_size = int(cfg.get("chunk_size", 100_000)), int(cfg.get("batch_size", 8192))
    text = [c for c in plan.carried if c not in (plan.ra, plan.dec)]
    meta = column_meta(plan, list(run.classes), run)
    for column, unit in input_units(info, plan.carried).items():  # FITS inputs' TUNITn
        meta[column] = (unit, *meta[column][1:])
    workers = row_threads(cfg.get("workers", "auto"))
    explain = None
    if int(cfg.get("explain") or 0) > 0:  # per row, the top features toward its class
        from xnet.predict.explain import ExplainColumns

        explain = ExplainColumns(run, int(cfg["explain"]), threads=workers)
        meta.update(explain.meta(list(run.classes)))
    rows = RowThreads(workers)
    from threadpoolctl import (
        threadpool_limits,
    )  # BLAS threads only spin against each other on a small MLP

    with (
        threadpool_limits(threads),
        rows,
        terminate_as_exit(),
        TableWriter(output, overwrite, meta, provenance(run, info, plan)) as writer,
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
        if tally.rows == 0:
            raise XnetError(f"{info.path}: holds no data rows")
        if tally.usable + tally.not_classified == 0:
            raise XnetError(
                f"{info.path}: every model feature ({', '.join(run.features)}) is missing in all {tally.rows:,} rows; "
                f"check the columns mapped in catalog config '{plan.name}' (file columns: {', '.join(plan.feature_columns)})"
            )
        from xnet.data.extreme import unread_message

        unread = unread_message(tally.unread, info.path)  # inf, negative fluxes: said once
        for line in unread:
            log.warning("%s", line)
        notes = ([info.note] if info.note else []) + unread
        min_support = int((cfg.get("report") or {}).get("min_support", 10))
        metrics = (
            labelled_metrics(tally, run, plan, info, output, min_support, notes)
            if plan.label
            else None
        )
    summary = summarize(tally, run, flags, plan, output, time.perf_counter() - started)
    if metrics is not None:
        report_metrics(metrics, metrics_path, said=notes)
        summary["metrics"] = metrics
    return summary


def provenance(run: TrainedRun, info: TableInfo, plan: InputPlan) -> dict[str, tuple[str, str]]:
    """FITS keywords (a VOTable's PARAMs) saying where a prediction table comes from."""
    from datetime import datetime, timezone

    import xnet

    return {
        "CREATOR": (f"xnet {xnet.__version__}", "software that wrote the table"),
        "DATE": (datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "written (UTC)"),
        "XNETRUN": (str(Path(run.source).resolve()), "training run that classified the sources"),
        "XNETINP": (str(Path(info.path).resolve()), "input catalog"),
        "XNETCAT": (plan.name, "catalog config that read the input"),
    }


def input_units(info: TableInfo, columns) -> dict[str, str]:
    """The units a FITS input gives the columns copied into the output (TUNITn)."""
    if info.kind != "fits":
        return {}
    from astropy.io import fits

    header = fits.getheader(info.path, info.hdu)
    units = {
        header.get(f"TTYPE{i}"): header.get(f"TUNIT{i}") for i in range(1, header["TFIELDS"] + 1)
    }
    return {c: str(units[c]).strip() for c in columns if units.get(c)}


def row_threads(setting) -> int:
    """`workers`: threads that classify a chunk's rows side by side; auto: this one and one more
    where a core is idle now."""
    if setting in (None, "auto"):
        from xnet.runtime.cores import idle_cores

        return 1 + min(1, idle_cores())
    return int(setting)


def check_training_ids(run: TrainedRun, plan: InputPlan) -> None:
    from xnet.predict.chunks import id_columns

    """Say how `in_training` is decided, or why it stays empty (unknown)."""
    columns = id_columns(plan)
    if run.training_ids is None:
        log.warning(
            "run %s: its checkpoints carry no training/validation ids (trained before xnet recorded them); "
            "in_training is empty (unknown)%s; retrain to know",
            run.source,
            " and the metrics may include rows the model was trained on" if plan.label else "",
        )
    elif not columns:
        log.warning(
            "catalog '%s' names no id column: in_training is empty (unknown); set `id` in its config",
            plan.name,
        )
    else:
        what = (
            f"any of its {len(run.members)} models (folds or networks)"
            if len(run.members) > 1
            else "its model"
        )
        log.info(
            "in_training: rows whose %s is one of the %s ids %s was trained or validated on",
            " or ".join(columns),
            f"{len(run.training_ids):,}",
            what,
        )


def summarize(
    tally: Tally, run: TrainedRun, flags: RowFlags, plan: InputPlan, output: Path, seconds: float
) -> dict:
    """Counts per predicted class and per flag reason, logged and returned."""
    from xnet.predict.chunks import id_columns

    reasons: dict[str, int] = {}
    for text, count in zip(flags.vocabulary, tally.flag_counts):
        for reason in filter(None, text.split(";")):
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + int(count)
    per_class = {c: int(n) for c, n in zip(run.classes, tally.per_class)}
    if tally.not_classified:
        log.warning(
            "%s rows not classified (flag not_classified): their probabilities are not finite "
            "numbers (values far beyond the training range overflow the model); no class is given",
            f"{tally.not_classified:,}",
        )
    log.info(
        "wrote %s rows to %s in %.1f s (%s rows/s); predicted: %s; flagged: %s; in_training: %s",
        f"{tally.rows:,}",
        output,
        seconds,
        f"{tally.rows / max(seconds, 1e-9):,.0f}",
        ", ".join(f"{c} {n:,}" for c, n in per_class.items()),
        ", ".join(f"{r} {n:,}" for r, n in reasons.items()) or "none",
        f"{tally.in_training:,}"
        if run.training_ids is not None and id_columns(plan)
        else "unknown",
    )
    return {
        "output": str(output),
        "catalog": plan.name,
        "rows": tally.rows,
        "predicted": per_class,
        "flags": reasons,
        "no_prediction": tally.rows - tally.usable,
        "not_classified": tally.not_classified,
        "in_training": tally.in_training,
        "seconds": seconds,
    }


def labelled_metrics(
    tally: Tally,
    run: TrainedRun,
    plan: InputPlan,
    info: TableInfo,
    output: Path,
    min_support: int = 10,
    notes: list[str] = (),
) -> dict | None:
    """Training's metrics block on the labelled rows whose class the model knows, that got a
    prediction and that the run did not train on (None, with a warning, when there are none), with
    `warnings` for classes scored on fewer than `min_support` rows and for unknown `in_training`."""
    from xnet.predict.chunks import id_columns
    from xnet.evaluation.metrics import classification_report
    from xnet.evaluation.sample_size import small_class_warnings

    y_true, y_pred, seen, unclassified = (
        np.concatenate(tally.y_true),
        np.concatenate(tally.y_pred),
        np.concatenate(tally.seen),
        np.concatenate(tally.unclassified),
    )
    known, predicted = y_true >= 0, y_pred >= 0
    scored = known & predicted & ~seen
    if (known & predicted).any() and not scored.any():
        log.warning(
            "%s: every labelled row with a prediction (%d) was in the training or validation part of the run's "
            "model(s) (in_training); no unseen rows to score, no metrics",
            info.path,
            int((known & predicted).sum()),
        )
        return None
    if not scored.any():
        log.warning(
            "%s: no row of label column '%s' holds one of the model's classes (%s) with usable features; no metrics",
            info.path,
            plan.label,
            ", ".join(run.classes),
        )
        return None
    report = classification_report(y_true[scored], y_pred[scored], run.classes)
    known_ids = run.training_ids is not None and bool(id_columns(plan))
    warnings = list(notes) + small_class_warnings([report], min_support, parts=("test",))
    if not known_ids:
        warnings.append(
            "in_training unknown: the scored rows may include rows the run was trained or validated on"
        )
    return {
        "dataset": plan.name,
        "input": str(info.path),
        "output": str(output),
        "run": str(run.source),
        "checkpoints": [str(m.path) for m in run.members],
        "features": run.spec.name,
        "feature_names": list(run.state["feature_names"]),
        "classes": run.classes,
        "n_rows": int(tally.rows),
        "n_test": int(scored.sum()),
        "n_label_not_a_model_class": int((~known).sum()),
        "n_no_prediction": int((known & ~predicted & ~unclassified).sum()),
        "n_not_classified": int((known & unclassified).sum()),
        "n_in_training": int((known & predicted & seen).sum()),
        "in_training_known": known_ids,
        "warnings": warnings,
        **report,
    }


def report_metrics(metrics: dict, path: Path, said=()) -> None:
    """Print the metrics block and write it (atomically) to `path`."""
    log.info(
        "metrics on %d %slabelled rows (left out: %d the run was trained or validated on (in_training), %d with a "
        "class the model does not know, %d without usable features, %d not classified): "
        "accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f",
        metrics["n_test"],
        "unseen " if metrics["in_training_known"] else "",
        metrics["n_in_training"],
        metrics["n_label_not_a_model_class"],
        metrics["n_no_prediction"],
        metrics["n_not_classified"],
        metrics["accuracy"],
        metrics["balanced_accuracy"],
        metrics["macro_f1"],
    )
    for cls, row in metrics["per_class"].items():
        log.info(
            "  %-10s precision %.3f  recall %.3f  f1 %.3f  support %d",
            cls,
            row["precision"],
            row["recall"],
            row["f1"],
            row["support"],
        )
    from xnet.predict.writers import write_failed

    for line in metrics["warnings"]:
        if line not in said:  # `said`: logged already (which FITS table, values read as missing)
            log.warning("%s", line)
    try:
        write_json(path, metrics)
    except OSError as err:
        raise write_failed(path, err) from None
    log.info("metrics written to %s", path)


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
