"""From trained stacks to results: per-network calibration, checkpoints and TensorBoard
summaries, per-split metrics (ensembles averaged), the run's metrics.json payload and figures."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from xnet import coverage, inner_validation
from xnet.calibration import expected_calibration_error, fit_temperature, reliability_figure, summarize_calibration, tempered_probabilities
from xnet.datamodule import XrayDataModule
from xnet.dataset import LabelledSet
from xnet.figures import write_run_figures
from xnet.metrics import HEADLINE, classification_report, summarize_folds
from xnet.module import StackedClassifier, XrayClassifier
from xnet.plots import confusion_matrix_figure
from xnet.stacking import Job, Member, optimizer_settings

log = logging.getLogger("xnet.train")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` into a temporary file beside `path`, renamed to `path` only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes owner-only files; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload, indent=2)))


def build_classifier(cfg: DictConfig, dm: XrayDataModule, prior: np.ndarray) -> XrayClassifier:
    m = cfg.model
    return XrayClassifier(
        n_features=dm.n_features,
        class_names=dm.classes,
        hidden=int(m.hidden),
        depth=int(m.depth),
        dropout=float(m.dropout),
        **optimizer_settings(m),
        prior_power=float(cfg.decision.prior_power),
        class_prior=[float(v) for v in prior],
    )


def evaluate_member(module: StackedClassifier, k: int, member: Member) -> dict:
    """Member k's best weights as an XrayClassifier: temperature fitted on its validation split,
    checkpoint, TensorBoard summaries; its calibrated validation and test probabilities."""
    cfg, dm, split, data = member.job.cfg, member.dm, member.split, member.job.data
    outer_train = np.concatenate([split.train, split.val])
    prior = np.bincount(data.y[outer_train], minlength=len(data.classes)) / len(outer_train)
    model = build_classifier(cfg, dm, prior)
    model.net.load_state_dict(module.member_state_dict(k))
    logits = {part: model.logits(x).numpy() for part, x in (("val", dm.x_val), ("test", dm.x_test))}
    if cfg.calibration.enabled:
        model.temperature.fill_(fit_temperature(logits["val"], dm.y_val.numpy()))
    x_train, y_train = dm.tensors(split.train)
    proba = {
        "train": model.predict_proba(x_train).numpy(),
        "val": model.predict_proba(dm.x_val).numpy(),
        "test": model.predict_proba(dm.x_test).numpy(),
        "test_uncalibrated": tempered_probabilities(logits["test"]),
    }
    truth = {"train": y_train.numpy(), "val": dm.y_val.numpy(), "test": dm.y_test.numpy()}
    reports = {part: classification_report(truth[part], model.decide(proba[part]), data.classes) for part in truth}
    best_epoch, stop_epoch = int(module.best_epoch[k]), int(module.stop_epoch[k])
    checkpoint = member.job.run_dir / "checkpoints" / f"{member.tag}-best.ckpt"
    save_checkpoint(checkpoint, model, dm, best_epoch)
    logger = module.member_loggers[k]
    if logger is not None:
        log_final(logger, cfg, data, reports, step=stop_epoch)
    return {
        "member": member,
        "model": model,
        "proba": proba,
        "truth": truth,
        "reports": reports,
        "temperature": float(model.temperature),
        "epochs": stop_epoch + 1,
        "best_epoch": best_epoch,
        "checkpoint": str(checkpoint.relative_to(member.job.run_dir)),
    }


def evaluate_split(results: list[dict]) -> dict:
    """One outer split's test metrics from its member(s): the mean of their calibrated
    probabilities, decided with the prior adjustment; calibration before/after on the test part."""
    first = results[0]
    member, model = first["member"], first["model"]
    cfg, data, split = member.job.cfg, member.job.data, member.split
    y_test = first["truth"]["test"]
    proba = np.mean([r["proba"]["test"] for r in results], axis=0)
    raw = np.mean([r["proba"]["test_uncalibrated"] for r in results], axis=0)
    pred = model.decide(proba)
    report = classification_report(y_test, pred, data.classes)
    n_bins = int(cfg.calibration.n_bins)
    calibration = {
        "temperature": float(np.mean([r["temperature"] for r in results])),
        "ece_test_before": expected_calibration_error(raw, y_test, n_bins),
        "ece_test_after": expected_calibration_error(proba, y_test, n_bins),
        "n_bins": n_bins,
    }
    if cfg.figures.enabled:
        fig = reliability_figure(y_test, raw, proba, calibration["temperature"], n_bins, title=f"{member.split_tag}: test part")
        path = member.job.run_dir / f"reliability_{member.split_tag}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        calibration["figure"] = path.name
    else:
        fig = None

    def mean_headline(part: str) -> dict:
        return {key: float(np.mean([r["reports"][part][key] for r in results])) for key in HEADLINE}

    block = {
        "fold": split.fold,
        "n_train": int(len(split.train)),
        "n_train_resampled": int(len(member.dm.y_train)),
        "n_val": int(len(split.val)),
        "n_test": int(len(split.test)),
        "epochs": first["epochs"] if len(results) == 1 else [r["epochs"] for r in results],
        "best_epoch": first["best_epoch"] if len(results) == 1 else [r["best_epoch"] for r in results],
        "checkpoint": first["checkpoint"],
        "checkpoints": [r["checkpoint"] for r in results],
        "train": mean_headline("train"),
        "val": mean_headline("val"),
        "calibration": calibration,
        **report,
    }
    epochs = [r["epochs"] for r in results]
    trained = f"{epochs[0]} epochs (best {first['best_epoch']})" if len(results) == 1 else (
        f"{len(results)} networks, {min(epochs)}-{max(epochs)} epochs"
    )
    log.info(
        "%s: %s, test accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f, ECE %.3f -> %.3f",
        member.split_tag, trained, block["accuracy"], block["balanced_accuracy"], block["macro_f1"],
        calibration["ece_test_before"], calibration["ece_test_after"],
    )
    confidence = coverage.confidence_scores(  # hook: selective classification (xnet.coverage)
        proba, pred, np.stack([r["proba"]["test"] for r in results]), str(cfg.coverage.confidence),
        model.hparams.class_prior, float(model.hparams.prior_power))
    oob = inner_validation.out_of_bag_report(results, data.classes) if len(results) > 1 else None  # hook
    return {"block": block, "y_true": y_test, "y_pred": pred, "reliability": fig, "confidence": confidence, "oob": oob}


def save_checkpoint(path: Path, model: XrayClassifier, dm: XrayDataModule, epoch: int) -> None:
    """A Lightning-format checkpoint of plain values and tensors only (weights_only-loadable)."""
    payload = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": L.__version__,
        "epoch": epoch,
        "global_step": 0,
        "XrayDataModule": dm.state_dict(),
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


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
        **{f"model/{key}": value for key, value in OmegaConf.to_container(cfg.model).items()},
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
            job.run_dir, job.data, job.splits[0], payload["confusion_matrix"], tb_writer=writer, confusion_title=title
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
    split_results = [evaluate_split(group) for group in per_split.values()]
    payload = job_payload(job, split_results)
    # hooks: selective classification and the inner (out-of-bag) validation score
    payload["coverage"] = coverage.coverage_block(split_results, job.data.classes, str(job.cfg.coverage.confidence))
    if all(r["oob"] for r in split_results):
        payload["inner_validation"] = inner_validation.summarize([r["oob"] for r in split_results])
    if job.cfg.figures.enabled:
        payload["figures"] = run_figures(job, payload, [r["reliability"] for r in split_results])
        payload["figures"]["coverage"] = coverage.write_figure(payload["coverage"], job.run_dir)
    write_json(job.run_dir / "metrics.json", payload)
    return payload
