"""`python -m xnet.predict run=<training run dir or .ckpt> input=<catalog> output=<file>`.

Classifies every row of a catalog (the ~1M 4XMM-DR13 sources, or a user's own file) with a trained
run, in chunks: only the needed columns are read (FITS memory-mapped through astropy), features
are built by the same functions as in training, scaled by the checkpoint's fitted scaler and
passed through the network; each chunk is written out before the next is read, so memory stays
bounded whatever the input's size. A CV run predicts with the mean of its fold models'
probabilities. Writes one row per input row: id and position, predicted class and probability, one
probability per class and a `flag` saying why a prediction should not be trusted (xnet.predict.flags).
With a labelled input, also the training metrics block (printed, and metrics.json beside the output).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import hydra
import numpy as np
from omegaconf import DictConfig

from xnet.config import CONFIG_DIR
from xnet.errors import XnetError, exit_on_error
from xnet.files import write_json

if TYPE_CHECKING:  # the work's modules (pandas, pyarrow, astropy) load in predict(): --help stays light
    from xnet.data.tables import TableInfo
    from xnet.predict.chunks import Tally
    from xnet.predict.flags import RowFlags
    from xnet.predict.plan import InputPlan
    from xnet.predict.trained_run import TrainedRun

log = logging.getLogger(__name__)


def _check_names(plan: InputPlan, classes: list[str]) -> None:
    from xnet.predict.chunks import FLAG, PRED_CLASS, PRED_PROB, ROW, probability_column

    ours = [PRED_CLASS, PRED_PROB, FLAG, *(probability_column(c) for c in classes)] + ([ROW] if plan.id is None else [])
    clash = sorted({c for c in plan.carried if c.lower() in {o.lower() for o in ours}})
    if clash:
        raise XnetError(
            f"input column {', '.join(map(repr, clash))} (id/position/label in catalog config '{plan.name}') "
            f"has the name of a prediction column; rename it in the file"
        )


def progress_bar(setting, total: int | None):
    from tqdm import tqdm

    disable = {"auto": None, True: False, False: True}.get(setting, None)
    return tqdm(total=total, unit=" rows", unit_scale=True, disable=disable, desc="xnet.predict", dynamic_ncols=True)


def predict(cfg: DictConfig | Mapping) -> dict:
    """Classify `cfg.input` with `cfg.run` into `cfg.output`; returns a summary (and the metrics
    block for a labelled input)."""
    from xnet.data.tables import iter_table_chunks, table_info
    from xnet.predict.chunks import Tally, predict_chunk
    from xnet.predict.flags import FlagRules, RowFlags, TrainingStats
    from xnet.predict.plan import FLAG_INPUTS, resolve_catalog
    from xnet.predict.trained_run import load_run
    from xnet.predict.writers import TableWriter, check_output

    started = time.perf_counter()
    for key, hint in (("run", "a training run directory or .ckpt file"), ("input", "the catalog to classify"), ("output", "a .parquet, .csv or .fits file")):
        if not cfg.get(key):
            raise XnetError(f"{key}= is required: pass {key}=<{hint}>")
    overwrite = bool(cfg.get("overwrite", False))
    output = check_output(cfg["output"], overwrite)
    info = table_info(cfg["input"])
    run = load_run(cfg["run"])
    plan = resolve_catalog(cfg.get("catalog"), info, run)
    _check_names(plan, run.classes)
    metrics_path = output.parent / "metrics.json" if plan.label else None
    if metrics_path is not None and metrics_path.exists() and not overwrite:
        raise XnetError(f"{metrics_path} exists (labelled input: metrics go beside the output); pass overwrite=true to replace it")
    threads = int(cfg.get("num_threads", 1))
    if "torch" in sys.modules:  # a checkpoint without a NumPy export was loaded with torch
        sys.modules["torch"].set_num_threads(threads)
    stats = TrainingStats.from_states([m.state for m in run.members], run.features)
    if stats is None:
        log.warning("run %s: checkpoint has no training feature statistics; 'missing' and 'out_of_range' flags are off", run.source)
    flags = RowFlags(run.features, stats, FlagRules.from_config(cfg.get("flags") or {}))
    for canon in FLAG_INPUTS:
        if canon not in plan.flag_inputs:
            log.info("catalog '%s' maps no '%s' column: no %s flag", plan.name, canon, "poor_quality" if canon == "sum_flag" else "extended")
    log.info(
        "%s: %s rows, catalog config '%s'; model: %d classes, %d features (%s)",
        info.path, f"{info.n_rows:,}" if info.n_rows is not None else "?", plan.name, len(run.classes), len(run.features), ", ".join(run.features),
    )
    tally = Tally(n_classes=len(run.classes))
    chunk_rows, batch_size = int(cfg.get("chunk_size", 100_000)), int(cfg.get("batch_size", 8192))
    text = [c for c in plan.carried if c not in (plan.ra, plan.dec)]
    from threadpoolctl import threadpool_limits  # BLAS threads only spin against each other on a small MLP

    with threadpool_limits(threads), TableWriter(output, overwrite) as writer, progress_bar(cfg.get("progress", "auto"), info.n_rows) as bar:
        for chunk in iter_table_chunks(info, plan.read, chunk_rows, text=text):
            writer.write(predict_chunk(chunk, run, plan, flags, info.path, batch_size, tally))
            bar.update(len(chunk.rows))
        if tally.rows == 0:
            raise XnetError(f"{info.path}: holds no data rows")
        if tally.usable == 0:
            raise XnetError(
                f"{info.path}: every model feature ({', '.join(run.features)}) is missing in all {tally.rows:,} rows; "
                f"check the columns mapped in catalog config '{plan.name}' (file columns: {', '.join(plan.feature_columns)})"
            )
        metrics = labelled_metrics(tally, run, plan, info, output) if plan.label else None
    summary = summarize(tally, run, flags, plan, output, time.perf_counter() - started)
    if metrics is not None:
        report_metrics(metrics, metrics_path)
        summary["metrics"] = metrics
    return summary


def summarize(tally: Tally, run: TrainedRun, flags: RowFlags, plan: InputPlan, output: Path, seconds: float) -> dict:
    """Counts per predicted class and per flag reason, logged and returned."""
    reasons: dict[str, int] = {}
    for text, count in zip(flags.vocabulary, tally.flag_counts):
        for reason in filter(None, text.split(";")):
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + int(count)
    per_class = {c: int(n) for c, n in zip(run.classes, tally.per_class)}
    log.info(
        "wrote %s rows to %s in %.1f s (%s rows/s); predicted: %s; flagged: %s",
        f"{tally.rows:,}", output, seconds, f"{tally.rows / max(seconds, 1e-9):,.0f}",
        ", ".join(f"{c} {n:,}" for c, n in per_class.items()),
        ", ".join(f"{r} {n:,}" for r, n in reasons.items()) or "none",
    )
    return {
        "output": str(output), "catalog": plan.name, "rows": tally.rows, "predicted": per_class,
        "flags": reasons, "no_prediction": tally.rows - tally.usable, "seconds": seconds,
    }


def labelled_metrics(tally: Tally, run: TrainedRun, plan: InputPlan, info: TableInfo, output: Path) -> dict | None:
    """Training's metrics block on the labelled rows whose class the model knows and that got a
    prediction (None, with a warning, when there are none)."""
    y_true, y_pred = np.concatenate(tally.y_true), np.concatenate(tally.y_pred)
    known, predicted = y_true >= 0, y_pred >= 0
    scored = known & predicted
    if not scored.any():
        log.warning(
            "%s: no row of label column '%s' holds one of the model's classes (%s) with usable features; no metrics",
            info.path, plan.label, ", ".join(run.classes),
        )
        return None
    from xnet.training.metrics import classification_report

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
        "n_no_prediction": int((known & ~predicted).sum()),
        **classification_report(y_true[scored], y_pred[scored], run.classes),
    }


def report_metrics(metrics: dict, path: Path) -> None:
    """Print the metrics block and write it (atomically) to `path`."""
    log.info(
        "metrics on %d labelled rows (left out: %d with a class the model does not know, %d without usable features): "
        "accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f",
        metrics["n_test"], metrics["n_label_not_a_model_class"], metrics["n_no_prediction"],
        metrics["accuracy"], metrics["balanced_accuracy"], metrics["macro_f1"],
    )
    for cls, row in metrics["per_class"].items():
        log.info("  %-10s precision %.3f  recall %.3f  f1 %.3f  support %d", cls, row["precision"], row["recall"], row["f1"], row["support"])
    write_json(path, metrics)
    log.info("metrics written to %s", path)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_error(lambda: predict(cfg))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
