"""What a prediction says about itself: how `in_training` is decided, the counts per class and
flag reason (logged and returned), and, for a labelled input, training's metrics block on the rows
the run did not train on (printed, and written beside the output)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from xnet.data.tables import TableInfo
from xnet.files import write_json
from xnet.predict.chunks import Tally, id_columns
from xnet.predict.flags import RowFlags
from xnet.predict.output import write_failed
from xnet.predict.plan import InputPlan
from xnet.predict.trained_run import TrainedRun

log = logging.getLogger("xnet.predict.job")


def check_training_ids(run: TrainedRun, plan: InputPlan) -> None:
    """Say how `in_training` is decided, or why it stays empty (unknown)."""
    columns = id_columns(plan)
    if run.training_ids is None:
        log.warning(
            "run %s: its checkpoints carry no training/validation ids (trained before xnet "
            "recorded them); in_training is empty (unknown)%s; retrain to know",
            run.source,
            " and the metrics may include rows the model was trained on" if plan.label else "",
        )
    elif not columns:
        log.warning(
            "catalog '%s' names no id column: in_training is empty (unknown); set `id` in its "
            "config",
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
    from xnet.evaluation.metrics import classification_report
    from xnet.evaluation.sample_size import small_class_warnings

    rows = labelled_rows(tally)
    known, predicted, seen, unclassified, scored = (
        rows[k] for k in ("known", "predicted", "seen", "unclassified", "scored")
    )
    if not has_unseen_rows(rows, run, plan, info):
        return None
    report = classification_report(rows["y_true"][scored], rows["y_pred"][scored], run.classes)
    known_ids = run.training_ids is not None and bool(id_columns(plan))
    warnings = list(notes) + small_class_warnings([report], min_support, parts=("test",))
    if not known_ids:
        warnings.append(
            "in_training unknown: the scored rows may include rows the run was trained or "
            "validated on"
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


def labelled_rows(tally: Tally) -> dict[str, np.ndarray]:
    """A labelled input's true and predicted codes over all chunks, and per row: its label is one
    of the model's classes (`known`), it got a prediction (`predicted`), the run trained or
    validated on it (`seen`), it was not classified (`unclassified`), it is scored (`scored`)."""
    y_true, y_pred = np.concatenate(tally.y_true), np.concatenate(tally.y_pred)
    seen, unclassified = np.concatenate(tally.seen), np.concatenate(tally.unclassified)
    known, predicted = y_true >= 0, y_pred >= 0
    return {
        "y_true": y_true,
        "y_pred": y_pred,
        "seen": seen,
        "unclassified": unclassified,
        "known": known,
        "predicted": predicted,
        "scored": known & predicted & ~seen,
    }


def has_unseen_rows(rows: dict, run: TrainedRun, plan: InputPlan, info: TableInfo) -> bool:
    """Whether any labelled row can be scored; if not, a warning saying why."""
    known_predicted = rows["known"] & rows["predicted"]
    if known_predicted.any() and not rows["scored"].any():
        log.warning(
            "%s: every labelled row with a prediction (%d) was in the training or validation "
            "part of the run's model(s) (in_training); no unseen rows to score, no metrics",
            info.path,
            int(known_predicted.sum()),
        )
        return False
    if not rows["scored"].any():
        log.warning(
            "%s: no row of label column '%s' holds one of the model's classes (%s) with usable "
            "features; no metrics",
            info.path,
            plan.label,
            ", ".join(run.classes),
        )
        return False
    return True


def report_metrics(metrics: dict, path: Path, said=()) -> None:
    """Print the metrics block and write it (atomically) to `path`."""
    log.info(
        "metrics on %d %slabelled rows (left out: %d the run was trained or validated on "
        "(in_training), %d with a class the model does not know, %d without usable features, %d "
        "not classified): "
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
    for line in metrics["warnings"]:
        if line not in said:  # `said`: logged already (which FITS table, values read as missing)
            log.warning("%s", line)
    try:
        write_json(path, metrics)
    except OSError as err:
        raise write_failed(path, err) from None
    log.info("metrics written to %s", path)
