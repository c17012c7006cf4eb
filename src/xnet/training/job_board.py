"""What a job's TensorBoard run holds once its networks are evaluated (where the runs live, and
each network's own curves: `xnet.training.board`).

- Curves per epoch, the mean over the job's networks still training at that epoch, in two
  capitalised groups: `Fit/` (`loss_train`, `loss_val`, `accuracy_...`, `balanced_accuracy_...`,
  `macro_f1_val`) and `Recall/<class>` (validation recall). TensorBoard's Time Series sorts tags
  with upper-case before lower-case letters and opens the first two groups, so these are what it
  shows first, ahead of the images (`calibration/`, `figures/`), the hparams metrics (`hp/`) and
  each network's own curves (`train/`, `val/` under `members/`).
- A custom-scalars layout, the same in every job of a sweep (TensorBoard merges equal categories):
  one chart per class with one curve per job, and the loss and accuracy charts.
- `results` (TEXT tab): the one-value results as tables, headline metrics (mean ± std over folds)
  and per class, instead of charts holding one dot.
- One hparams session: in a sweep only the keys that vary (a single run: the main settings), whole
  numbers as text (TensorBoard prints every number with five digits: 10.000), and the metrics with
  the sweep's `optimized_metric` first, logged as `hp/<metric>` (CV mean, or the test value of one
  split) and `hp/<metric>_std` (CV only), so that runs of every kind share the columns.
"""

from __future__ import annotations

import math
import re

import numpy as np
from omegaconf import OmegaConf

from xnet.evaluation.metrics import HEADLINE, HEADLINE_NAMES, ranked
from xnet.evaluation.results import RunReport

#: a network's per-epoch tag -> the job's (the mean over its networks); per class: `job_tag`
JOB_TAGS = {
    "train/loss": "Fit/loss_train",
    "val/loss": "Fit/loss_val",
    "train/accuracy": "Fit/accuracy_train",
    "val/accuracy": "Fit/accuracy_val",
    "train/balanced_accuracy": "Fit/balanced_accuracy_train",
    "val/balanced_accuracy": "Fit/balanced_accuracy_val",
    "val/macro_f1": "Fit/macro_f1_val",
}
RECALL = "Recall/"
#: a single run's hparams columns (a sweep's are the keys that vary)
MAIN_SETTINGS = (
    "model.hidden",
    "model.depth",
    "model.dropout",
    "model.lr",
    "model.batch_size",
    "cv.folds",
    "data",
    "features",
    "resample",
)


def job_tag(tag: str) -> str | None:
    if tag.startswith("val/acc_"):
        return RECALL + tag[len("val/acc_") :]
    return JOB_TAGS.get(tag)


def mean_curves(histories) -> dict[int, dict[str, float]]:
    """{step: {job tag: mean over the networks that logged it at that step}} (NaN skipped)."""
    sums: dict[int, dict[str, list[float]]] = {}
    for history in histories:
        for step, row in history:
            for tag, value in row.items():
                target = job_tag(tag)
                if target is not None and not math.isnan(value):
                    sums.setdefault(step, {}).setdefault(target, []).append(value)
    return {
        step: {tag: sum(v) / len(v) for tag, v in row.items()} for step, row in sorted(sums.items())
    }


def per_network(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


def recall_counts(job) -> dict[str, str]:
    """Validation sources per class in each of the job's networks, as `3` or `2-3`."""
    logs = [logger.val_counts for logger in job.member_logs]
    return {c: per_network([counts.get(c, 0) for counts in logs]) for c in job.data.classes}


def curve_description(tag: str, counts: dict[str, str]) -> str:
    mean = "mean over this job's networks still training at each epoch"
    if not tag.startswith(RECALL):
        return f"{tag[len('Fit/') :]}, {mean}."
    c = tag[len(RECALL) :]
    return (
        f"Validation recall of {c}, {mean}; each has {counts.get(c, '?')} validation {c} sources."
    )


def write_curves(writer, job) -> None:
    """The job's mean curves, one event per epoch, each tag described once (the first value)."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata

    counts = recall_counts(job)
    described: set[str] = set()
    file_writer = writer._get_file_writer()
    for step, row in mean_curves(logger.history for logger in job.member_logs).items():
        values = []
        for tag, value in row.items():
            metadata = None
            if tag not in described:
                described.add(tag)
                metadata = SummaryMetadata(
                    summary_description=curve_description(tag, counts),
                    plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"),
                )
            values.append(Summary.Value(tag=tag, simple_value=value, metadata=metadata))
        file_writer.add_summary(Summary(value=values), step)


def layout(job) -> dict:
    """Custom scalars: one chart per class (one curve per job), then loss and accuracy. The
    titles depend on the data only (the class's labelled sources, not a seed's split), so every
    job of a sweep on the same data writes the same layout and TensorBoard merges them."""
    totals = np.bincount(job.data.y, minlength=len(job.data.classes))
    per_class = {
        f"{c} ({n} labelled sources)": ["Multiline", [f"^{re.escape(RECALL + c)}$"]]
        for c, n in zip(job.data.classes, totals)
    }
    return {
        "validation recall per class: one curve per job (mean over its networks)": per_class,
        "loss and accuracy: one curve per job (mean over its networks)": {
            "validation loss": ["Multiline", [r"^Fit/loss_val$"]],
            "validation balanced accuracy": ["Multiline", [r"^Fit/balanced_accuracy_val$"]],
            "validation accuracy": ["Multiline", [r"^Fit/accuracy_val$"]],
            "training loss": ["Multiline", [r"^Fit/loss_train$"]],
        },
    }


def results_text(report: RunReport) -> str:
    """The job's one-value results as Markdown tables (TensorBoard's TEXT tab)."""
    cv = report.cv
    head = "| metric | CV mean | ± std |\n|---|---|---|" if cv else "| metric | test |\n|---|---|"
    rows = [
        f"| {HEADLINE_NAMES[k]} | {report.mean[k]:.3f} | {report.std[k]:.3f} |"
        if cv
        else f"| {HEADLINE_NAMES[k]} | {report.test[k]:.3f} |"
        for k in HEADLINE
    ]
    title = "pooled out-of-fold test" if cv else "test"
    classes = [
        f"\n\nPer class ({title}):\n\n"
        "| class | precision | recall | F1 | n |\n|---|---|---|---|---|"
    ]
    for c, r in report.test["per_class"].items():
        classes.append(
            f"| {c} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |"
        )
    return "\n".join([head, *rows]) + "\n".join(classes)


def hparam_value(value):
    """Whole numbers as text (TensorBoard shows numbers to five digits), floats and bools as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, float) else str(value)


def hparam_values(job) -> dict[str, object]:
    """A sweep job's varying keys (a single run's main settings, with its encoders' and
    light-curve binning settings) as bools, floats or text."""
    from xnet.training.lightcurves import encoder_settings

    values: dict[str, object] = {}
    for key in job.varying or [*MAIN_SETTINGS, *encoder_settings(job.cfg)]:
        value = OmegaConf.select(job.cfg, key, default=None)
        if isinstance(value, (dict, list)) or OmegaConf.is_config(value) or value is None:
            value = job.varying.get(key, OmegaConf.select(job.cfg, f"{key}.name", default=None))
        if value is not None:
            values[key] = hparam_value(value)
    return values


def job_metrics(report: RunReport, first: str) -> dict[str, float]:
    """hparams metrics, the ranking metric and its spread first: `hp/<metric>` (CV mean, or the
    test value of one split) and `hp/<metric>_std` over folds (CV only); TensorBoard shows the
    first five."""
    order = ranked(first)
    source, std = (report.mean, report.std) if report.cv else (report.test, None)
    tags = [f"hp/{first}", *([f"hp/{first}_std"] if std else [])]
    tags += [f"hp/{k}" for k in order[1:]] + ([f"hp/{k}_std" for k in order[1:]] if std else [])
    return {tag: float(std[tag[3:-4]] if tag.endswith("_std") else source[tag[3:]]) for tag in tags}


def metric_label(tag: str, cv: bool) -> str:
    name = tag[len("hp/") :]
    if name.endswith("_std"):
        return f"{HEADLINE_NAMES[name[: -len('_std')]]} ± std"
    return f"{HEADLINE_NAMES[name]} ({'CV mean' if cv else 'test'})"


def experiment_columns(exp, varying: dict, cv: bool) -> None:
    """Mark the sweep's varying keys `differs` (TensorBoard shows and ticks those first) and name
    the metric columns in words (the tags stay `hp/...`)."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    plugin_data = exp.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(plugin_data.content)
    for info in content.experiment.hparam_infos:
        info.differs = info.name in varying
    for info in content.experiment.metric_infos:
        info.display_name = metric_label(info.name.tag, cv)
    plugin_data.content = content.SerializeToString()


def write_job_summary(writer, job, report: RunReport) -> None:
    """The job's mean curves, results text, hparams session and custom-scalars layout."""
    from torch.utils.tensorboard.summary import hparams

    write_curves(writer, job)
    writer.add_text("results", results_text(report))
    metrics = job_metrics(report, str(job.cfg.optimized_metric))
    exp, ssi, sei = hparams(hparam_values(job), metrics)
    experiment_columns(exp, job.varying, report.cv)
    file_writer = writer._get_file_writer()
    for summary in (exp, ssi, sei):
        file_writer.add_summary(summary)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, 0)
    writer.add_custom_scalars(layout(job))
