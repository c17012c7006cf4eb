"""A run's results: the metrics.json report (`RunReport`: folds pooled, mean and standard
deviation), the study's figures and the job's TensorBoard summary."""

from __future__ import annotations

import logging

import numpy as np

from xnet.evaluation import coverage, inner_validation
from xnet.evaluation.calibration import calibration_warnings, summarize_calibration
from xnet.evaluation.metrics import HEADLINE, classification_report, summarize_folds
from xnet.evaluation.results import RunHeader, RunReport, SplitBlock
from xnet.evaluation.sample_size import fold_support, log_per_class, sample_warnings
from xnet.files import write_json
from xnet.plotting.coverage import write_figure as write_coverage_figure
from xnet.plotting.png import add_png
from xnet.plotting.run_figures import write_run_figures
from xnet.training import importance, lightcurves
from xnet.training.board import job_writer, shows_data_figures
from xnet.training.evaluation import evaluate_split
from xnet.training.job_board import write_job_summary
from xnet.training.results import MemberResult, SplitResult
from xnet.training.stacking import Job

log = logging.getLogger("xnet.train")


def run_header(job: Job) -> RunHeader:
    """What the run was trained on, with the data's warnings."""
    data = job.data
    return RunHeader(
        dataset=data.catalog.name,
        catalog_path=str(data.catalog.path),
        features=data.spec.name,
        feature_names=data.feature_names,
        resample=str(job.cfg.resample.name),
        classes=data.classes,
        class_counts={
            c: int(n)
            for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))
        },
        duplicates=data.duplicates.summary() if data.duplicates is not None else None,
        warnings=list(data.warnings),
    )


def run_report(job: Job, results: list[SplitResult]) -> RunReport:
    """The run's report from its splits; logged (per class, and the CV line), with the small
    sample and calibration warnings added to the header's."""
    data, header = job.data, run_header(job)
    blocks = [r.block for r in results]
    if len(blocks) == 1:
        log_per_class(blocks[0].test, "test")
        header.warnings += sample_warnings(data, blocks, job.cfg)
        header.warnings += calibration_warnings([blocks[0].calibration], ["holdout"])
        return RunReport(header, blocks)
    pooled = classification_report(
        np.concatenate([r.y_true for r in results]),
        np.concatenate([r.y_pred for r in results]),
        data.classes,
    )
    mean, std = fold_summary(blocks, data.classes)
    log.info(
        "%d-fold CV (n_test per fold %s): balanced accuracy %.3f ± %.3f, accuracy %.3f ± %.3f, "
        "macro-F1 %.3f ± %.3f",
        len(blocks),
        "/".join(str(b.n_test) for b in blocks),
        mean["balanced_accuracy"],
        std["balanced_accuracy"],
        mean["accuracy"],
        std["accuracy"],
        mean["macro_f1"],
        std["macro_f1"],
    )
    log_per_class(pooled, "pooled out-of-fold test")
    header.warnings += sample_warnings(data, blocks, job.cfg)
    header.warnings += calibration_warnings(
        [b.calibration for b in blocks], [f"fold_{b.fold}" for b in blocks]
    )
    return RunReport(header, blocks, pooled, mean, std)


def fold_summary(blocks: list[SplitBlock], classes: list[str]) -> tuple[dict, dict]:
    """The CV `mean` and `std` blocks: headline metrics and recall over folds, the train and
    validation headline (mean, with each fold's sizes), calibration, and each fold's support."""
    mean, std = summarize_folds([b.test for b in blocks])
    for part in ("train", "val"):
        parts = [getattr(b, part) for b in blocks]
        mean[part] = {
            **{key: float(np.mean([p[key] for p in parts])) for key in HEADLINE},
            f"n_{part}": [p[f"n_{part}"] for p in parts],  # per fold
            "support": {c: [p["support"][c] for p in parts] for c in classes},
        }
    mean["calibration"] = summarize_calibration([b.calibration for b in blocks])
    support = fold_support(blocks)
    mean.update(support)
    std.update(support)
    return mean, std


def run_figures(job: Job, report: RunReport, reliability: list[dict], writer=None) -> dict:
    """The study's figures for a run (PNG in the run directory, and in TensorBoard with a writer
    on the job's run), with the reliability diagrams of its splits (submitted by `evaluate_split`;
    their PNG bytes land in each dict's "png" when the renderer finishes); the data figures come
    from the figure cache when the data are unchanged (`figures.cache`)."""
    for split, box in zip(job.splits, reliability):
        if writer is not None:
            name = f"fold_{split.fold}" if len(job.splits) > 1 else "holdout"
            tag = f"calibration/reliability_{name}"
            job.renderer.call(lambda tag=tag, box=box: add_png(writer, tag, box["png"]))
    title = "pooled out-of-fold test" if len(job.splits) > 1 else "test"
    return write_run_figures(
        job.run_dir,
        job.data,
        job.splits[0],
        report.test["confusion_matrix"],
        tb_writer=writer,
        confusion_title=title,
        cache=bool(job.cfg.figures.cache),
        renderer=job.renderer,
        board_data_figures=writer is not None and shows_data_figures(job),
    )


def all_figures(job: Job, report: RunReport, results: list[SplitResult], writer) -> dict:
    """Every figure of the run: the study's, coverage, importance and light-curve examples."""
    figures = run_figures(job, report, [r.reliability for r in results], writer)
    figures["coverage"] = write_coverage_figure(report.coverage, job.run_dir, job.renderer)
    if report.importance is not None:
        figures["importance"] = importance.write_figure(
            report.importance, job.run_dir, job.renderer, writer
        )
    figures.update(lightcurves.example_figure(job, writer, job.renderer))
    return figures


def finish_job(job: Job, member_results: list[MemberResult]) -> dict:
    """A run's splits (ensemble networks averaged), report and figures; writes metrics.json and
    returns its content."""
    per_split: dict[int, list[MemberResult]] = {}
    for result in member_results:
        per_split.setdefault(result.member.split.fold, []).append(result)
    results = [evaluate_split(group) for group in per_split.values()]
    explained = importance.run_importance(job, list(per_split.values()), results)
    report = run_report(job, results)
    report.importance = explained
    report.lightcurves = lightcurves.run_block(results, job.data)  # with / without a light curve
    # selective classification (metrics vs coverage) and the inner (out-of-bag) validation score
    report.coverage = coverage.coverage_block(
        [(r.y_true, r.y_pred, r.confidence) for r in results],
        job.data.classes,
        str(job.cfg.coverage.confidence),
    )
    if all(r.oob for r in results):
        report.inner_validation = inner_validation.summarize([r.oob for r in results])
    writer = job_writer(job)
    try:
        if job.cfg.figures.enabled:
            report.figures = all_figures(job, report, results, writer)
        job.renderer.finish()  # every figure of the run and its networks written
        if writer is not None:
            write_job_summary(writer, job, report)
    finally:
        if writer is not None:
            writer.close()
    payload = report.to_json()
    write_json(job.run_dir / "metrics.json", payload)
    return payload
