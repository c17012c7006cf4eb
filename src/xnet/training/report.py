"""A run's results: TensorBoard summaries per network, the metrics.json payload (folds pooled,
mean and standard deviation) and the study's figures."""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from xnet.data.labelled import LabelledSet
from xnet.files import write_json
from xnet.plotting.draw import confusion_matrix_figure
from xnet.plotting.run_figures import write_run_figures
from xnet.training.calibration import summarize_calibration
from xnet.training.metrics import HEADLINE, classification_report, summarize_folds
from xnet.training.stacking import Job

log = logging.getLogger("xnet.train")


def log_final(logger: TensorBoardLogger, cfg: DictConfig, data: LabelledSet, reports: dict, step: int) -> None:
    """Per-class test accuracy, confusion matrices of the best model, hparams with its test metrics."""
    test = reports["test"]
    logger.log_metrics(
        {
            **{f"test/{key}": test[key] for key in HEADLINE},
            **{f"test/acc_{c}": test["per_class"][c]["recall"] for c in data.classes},
        },
        step=step,
    )
    for part in ("val", "test"):
        fig = confusion_matrix_figure(np.array(reports[part]["confusion_matrix"]), data.classes, title=f"{part} confusion matrix")
        logger.experiment.add_figure(f"{part}/confusion_matrix", fig, global_step=step)
        plt.close(fig)
    hparams = {
        "data": data.catalog.name,
        "features": data.spec.name,
        "resample": str(cfg.resample.name),
        "seed": int(cfg.seed),
        **{f"model/{key}": value for key, value in OmegaConf.to_container(cfg.model).items() if not isinstance(value, (dict, list))},
    }
    logger.log_hyperparams(hparams, {f"hp/test_{key}": test[key] for key in HEADLINE})
    logger.finalize("success")


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
        "class_counts": {c: int(n) for c, n in zip(data.classes, np.bincount(data.y, minlength=len(data.classes)))},
    }
    if len(blocks) == 1:
        return {**header, **blocks[0]}
    pooled = classification_report(
        np.concatenate([r["y_true"] for r in results]), np.concatenate([r["y_pred"] for r in results]), data.classes
    )
    mean, std = summarize_folds(blocks)
    for part in ("train", "val"):
        mean[part] = {key: float(np.mean([b[part][key] for b in blocks])) for key in HEADLINE}
    mean["calibration"] = summarize_calibration([b["calibration"] for b in blocks])
    log.info(
        "%d-fold CV: balanced accuracy %.3f ± %.3f, accuracy %.3f ± %.3f, macro-F1 %.3f ± %.3f",
        len(blocks), mean["balanced_accuracy"], std["balanced_accuracy"], mean["accuracy"], std["accuracy"],
        mean["macro_f1"], std["macro_f1"],
    )
    return {
        **header,
        "cv_folds": len(blocks),
        "n_train": int(round(np.mean([b["n_train"] for b in blocks]))),
        "n_test": int(sum(b["n_test"] for b in blocks)),
        "pooled_out_of_fold": True,
        **pooled,
        "mean": mean,
        "std": std,
        "folds": blocks,
    }


def run_figures(job: Job, payload: dict, reliability: list) -> dict[str, str]:
    """The study's figures for a run (PNG in the run directory, and in TensorBoard), with the
    reliability diagrams of its splits."""
    writer = None
    if job.cfg.logger.get("name"):
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(job.run_dir / str(job.cfg.logger.name) / "figures"))
    try:
        for split, fig in zip(job.splits, reliability):
            if writer is not None:
                tag = f"fold_{split.fold}" if len(job.splits) > 1 else "holdout"
                writer.add_figure(f"calibration/reliability_{tag}", fig)
            plt.close(fig)
        title = "pooled out-of-fold test" if len(job.splits) > 1 else "test"
        return write_run_figures(
            job.run_dir, job.data, job.splits[0], payload["confusion_matrix"], tb_writer=writer, confusion_title=title,
            cache=bool(job.cfg.figures.get("cache", True)),
        )
    finally:
        if writer is not None:
            writer.close()


def finish_job(job: Job, member_results: list[dict]) -> dict:
    """A run's splits (ensemble networks averaged), metrics.json payload and figures; writes
    metrics.json and returns the payload."""
    per_split: dict[int, list[dict]] = {}
    for result in member_results:
        per_split.setdefault(result["member"].split.fold, []).append(result)
    from xnet.training.evaluation import evaluate_split

    split_results = [evaluate_split(group) for group in per_split.values()]
    payload = job_payload(job, split_results)
    if job.cfg.figures.enabled:
        payload["figures"] = run_figures(job, payload, [r["reliability"] for r in split_results])
    write_json(job.run_dir / "metrics.json", payload)
    return payload
