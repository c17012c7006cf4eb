"""A run's results: TensorBoard summaries per network, the metrics.json payload (folds pooled,
mean and standard deviation) and the study's figures."""

from __future__ import annotations

import logging

import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from xnet.data.labelled import LabelledSet
from xnet.files import write_json
from xnet.plotting.draw import confusion_matrix_figure
from xnet.plotting.png import RENDERER, add_png
from xnet.plotting.run_figures import write_run_figures
from xnet.training.board import job_writer, shows_data_figures
from xnet.evaluation.calibration import calibration_warnings, summarize_calibration
from xnet.training.job_board import write_job_summary
from xnet.evaluation.metrics import HEADLINE, classification_report, summarize_folds
from xnet.evaluation.sample_size import fold_support, log_per_class, sample_warnings
from xnet.training.stacking import Job

log = logging.getLogger("xnet.train")


def log_final(
    logger: TensorBoardLogger, cfg: DictConfig, data: LabelledSet, reports: dict, step: int
) -> None:
    """The validation and test confusion matrices of a member's best model (its one-value results
    are the job's `results` text and hparams session: `xnet.training.job_board`)."""
    for part in ("val", "test"):
        fig = confusion_matrix_figure(
            np.array(reports[part]["confusion_matrix"]),
            data.classes,
            title=f"{part} confusion matrix",
        )
        RENDERER.submit(
            fig,
            then=lambda png, tag=f"{part}/confusion_matrix": add_png(
                logger.experiment, tag, png, step
            ),
            tight=False,
        )
    RENDERER.call(lambda: logger.finalize("success"))  # once its figures are in (`finish_job`)


def job_payload(job: Job, results: list[dict]) -> dict:
    """The metrics.json content of one run."""
    data = job.data
    blocks = [r["block"] for r in results]
    header = {
        "dataset": data.catalog.name,
        "catalog_path": str(data.catalog.path),
        "features": data.spec.name,
        "feature_names": data.feature_names,
        "resample": str(job.cfg.resample.name),
        "classes": data.classes,
        "class_counts": {
            c: int(n)
            for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))
        },
        "duplicates": data.duplicates.summary() if data.duplicates is not None else None,
        "warnings": list(data.warnings),
    }
    if len(blocks) == 1:
        log_per_class(blocks[0], "test")
        return {
            **header,
            **blocks[0],
            "warnings": header["warnings"]
            + sample_warnings(data, blocks, job.cfg)
            + calibration_warnings(blocks, ["holdout"]),
        }
    pooled = classification_report(
        np.concatenate([r["y_true"] for r in results]),
        np.concatenate([r["y_pred"] for r in results]),
        data.classes,
    )
    mean, std = summarize_folds(blocks)
    for part in ("train", "val"):
        mean[part] = {
            **{key: float(np.mean([b[part][key] for b in blocks])) for key in HEADLINE},
            f"n_{part}": [b[part][f"n_{part}"] for b in blocks],  # per fold
            "support": {c: [b[part]["support"][c] for b in blocks] for c in data.classes},
        }
    mean["calibration"] = summarize_calibration([b["calibration"] for b in blocks])
    support = fold_support(blocks)
    mean.update(support)
    std.update(support)
    log.info(
        "%d-fold CV (n_test per fold %s): balanced accuracy %.3f ± %.3f, accuracy %.3f ± %.3f, macro-F1 %.3f ± %.3f",
        len(blocks),
        "/".join(str(b["n_test"]) for b in blocks),
        mean["balanced_accuracy"],
        std["balanced_accuracy"],
        mean["accuracy"],
        std["accuracy"],
        mean["macro_f1"],
        std["macro_f1"],
    )
    log_per_class(pooled, "pooled out-of-fold test")
    return {
        **header,
        "warnings": header["warnings"]
        + sample_warnings(data, blocks, job.cfg)
        + calibration_warnings(blocks, [f"fold_{b['fold']}" for b in blocks]),
        "cv_folds": len(blocks),
        "n_train": int(round(np.mean([b["n_train"] for b in blocks]))),
        "n_test": int(sum(b["n_test"] for b in blocks)),
        "pooled_out_of_fold": True,
        **pooled,
        "mean": mean,
        "std": std,
        "folds": blocks,
    }


def run_figures(job: Job, payload: dict, reliability: list[dict], writer=None) -> dict[str, str]:
    """The study's figures for a run (PNG in the run directory, and in TensorBoard with a writer
    on the job's run), with the reliability diagrams of its splits (submitted by `evaluate_split`;
    their PNG bytes land in each dict's "png" when the renderer finishes); the data figures come
    from the figure cache when the data are unchanged (`figures.cache`)."""
    for split, box in zip(job.splits, reliability):
        if writer is not None:
            tag = f"calibration/reliability_{f'fold_{split.fold}' if len(job.splits) > 1 else 'holdout'}"
            RENDERER.call(lambda tag=tag, box=box: add_png(writer, tag, box["png"]))
    title = "pooled out-of-fold test" if len(job.splits) > 1 else "test"
    return write_run_figures(
        job.run_dir,
        job.data,
        job.splits[0],
        payload["confusion_matrix"],
        tb_writer=writer,
        confusion_title=title,
        cache=bool(job.cfg.figures.cache),
        renderer=RENDERER,
        board_data_figures=writer is not None and shows_data_figures(job),
    )


def finish_job(job: Job, member_results: list[dict]) -> dict:
    """A run's splits (ensemble networks averaged), metrics.json payload and figures; writes
    metrics.json and returns the payload."""
    per_split: dict[int, list[dict]] = {}
    for result in member_results:
        per_split.setdefault(result["member"].split.fold, []).append(result)
    from xnet.training.evaluation import evaluate_split

    split_results = [evaluate_split(group) for group in per_split.values()]
    from xnet.evaluation import coverage, inner_validation
    from xnet.training import importance

    explained = importance.run_importance(job, list(per_split.values()), split_results)
    payload = job_payload(job, split_results)
    if explained is not None:
        payload["importance"] = explained
    from xnet.training.lightcurves import run_block

    lightcurve_block = run_block(split_results, job.data)  # with / without a light curve
    if lightcurve_block is not None:
        payload["lightcurves"] = lightcurve_block

    # selective classification (metrics vs coverage) and the inner (out-of-bag) validation score
    payload["coverage"] = coverage.coverage_block(
        split_results, job.data.classes, str(job.cfg.coverage.confidence)
    )
    if all(r["oob"] for r in split_results):
        payload["inner_validation"] = inner_validation.summarize([r["oob"] for r in split_results])
    writer = job_writer(job)
    try:
        if job.cfg.figures.enabled:
            payload["figures"] = run_figures(
                job, payload, [r["reliability"] for r in split_results], writer
            )
            payload["figures"]["coverage"] = coverage.write_figure(
                payload["coverage"], job.run_dir, RENDERER
            )
            if explained is not None:
                payload["figures"]["importance"] = importance.write_figure(
                    explained, job.run_dir, RENDERER, writer
                )
            from xnet.training.lightcurves import example_figure

            payload["figures"].update(example_figure(job, writer, RENDERER))
        RENDERER.finish()  # every figure of the run (and its networks) written, on the idle cores
        if writer is not None:
            write_job_summary(writer, job, payload)
    finally:
        if writer is not None:
            writer.close()
    write_json(job.run_dir / "metrics.json", payload)
    return payload
