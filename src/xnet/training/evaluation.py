"""From a trained stack to per-split results: each network's best weights as a `Classifier`,
calibrated on its validation split and checkpointed (`MemberResult`); each split's test metrics
(an ensemble's networks averaged; `SplitResult`). The run's metrics.json and figures are
`xnet.training.report`."""

from __future__ import annotations

import logging

import numpy as np

from xnet.evaluation import coverage, inner_validation
from xnet.evaluation.calibration import (
    Temperature,
    calibrate,
    calibration_summary,
    tempered_probabilities,
)
from xnet.evaluation.metrics import HEADLINE, classification_report
from xnet.evaluation.results import SplitBlock
from xnet.models.artifacts.checkpoint import write_checkpoint
from xnet.models.artifacts.layout import checkpoint_name, trees_name
from xnet.models.stacked import StackedClassifier
from xnet.plotting.draw import confusion_matrix_figure
from xnet.plotting.png import add_png
from xnet.training import lightcurves
from xnet.training.checkpoint import build_classifier, member_prior
from xnet.training.results import MemberResult, SplitResult
from xnet.training.stacking import Member

log = logging.getLogger("xnet.train")


def evaluate_member(module: StackedClassifier, k: int, member: Member) -> MemberResult:
    """Member k of a stack: its best weights as a Classifier, evaluated (`evaluate_trained`)."""
    model = build_classifier(member.job.cfg, member.dm, member_prior(member))
    model.net.load_state_dict(module.member_state_dict(k))
    return evaluate_trained(
        member,
        model,
        int(module.best_epoch[k]),
        int(module.stop_epoch[k]),
        module.member_loggers[k],
    )


def evaluate_trained(
    member: Member, model, best_epoch: int, stop_epoch: int, logger
) -> MemberResult:
    """A member's trained Classifier (best weights; either engine): temperature fitted on its
    validation split, checkpoint, TensorBoard summaries; its calibrated validation and test
    probabilities."""
    cfg, dm, data = member.job.cfg, member.dm, member.job.data
    temperature = Temperature(1.0, False, 0.0, 0.0)
    if cfg.calibration.enabled:
        temperature = calibrate(model, dm.val_inputs, dm.y_val, float(cfg.calibration.min_gain_se))
    proba, truth = member_probabilities(member, model)
    reports = {
        part: classification_report(truth[part], model.decide(proba[part]), data.classes)
        for part in truth
    }
    checkpoint = member.job.run_dir / checkpoint_name(member.tag)
    write_checkpoint(checkpoint, model, dm.state_dict(), best_epoch)
    if logger is not None:
        log_final(logger, data.classes, reports, member.job.renderer, step=stop_epoch)
    branch = lightcurves.branch_ablation(model, dm, data)  # with / without the light-curve branch
    lightcurves.log_branch(logger, branch, stop_epoch)
    return MemberResult(
        member=member,
        model=model,
        proba=proba,
        truth=truth,
        reports=reports,
        temperature=temperature,
        epochs=stop_epoch + 1,
        best_epoch=best_epoch,
        checkpoint=str(checkpoint.relative_to(member.job.run_dir)),
        branch=branch,
    )


def member_probabilities(member: Member, model) -> tuple[dict, dict]:
    """The member's calibrated probabilities of its training, validation and test rows (and the
    test rows' at T = 1, `test_uncalibrated`), and their labels."""
    dm, split = member.dm, member.split
    proba = {
        "train": model.predict_proba(dm.inputs(split.train)).numpy(),
        "val": model.predict_proba(dm.val_inputs).numpy(),
        "test": model.predict_proba(dm.test_inputs).numpy(),
        "test_uncalibrated": tempered_probabilities(model.logits(dm.test_inputs).numpy()),
    }
    truth = {
        "train": dm.labels(split.train).numpy(),
        "val": dm.y_val.numpy(),
        "test": dm.y_test.numpy(),
    }
    return proba, truth


def log_final(logger, classes, reports: dict, renderer, step: int) -> None:
    """The validation and test confusion matrices of a member's best model, rendered by its job's
    `renderer` (its one-value results are the job's `results` text and hparams session:
    `xnet.training.job_board`)."""
    for part in ("val", "test"):
        fig = confusion_matrix_figure(
            np.array(reports[part]["confusion_matrix"]),
            classes,
            title=f"{part} confusion matrix",
        )
        renderer.submit(
            fig,
            then=lambda png, tag=f"{part}/confusion_matrix": add_png(
                logger.experiment, tag, png, step
            ),
            tight=False,
        )
    renderer.call(lambda: logger.finalize("success"))  # once its figures are in (`finish_job`)


def tree_member(results: list[MemberResult]):
    """The split's tree member (`xnet.models.trees`), fitted on its outer training rows and saved
    beside the networks' checkpoints; None with `ensemble.trees` 0."""
    member = results[0].member
    cfg, data, split = member.job.cfg, member.job.data, member.split
    weight = float(cfg.ensemble.trees)
    if weight <= 0:
        return None
    from xnet.models.trees import fit_member

    outer_train = np.concatenate([split.train, split.val])
    trees = fit_member(
        data.x,
        data.y,
        outer_train,
        split.test,
        len(data.classes),
        weight,
        int(cfg.seed) + split.fold,
    )
    trees.arrays.save(member.job.run_dir / trees_name(member.split_tag))
    return trees


def evaluate_split(results: list[MemberResult]) -> SplitResult:
    """One outer split's test metrics from its member(s): the mean of their calibrated
    probabilities, decided with the prior adjustment; calibration before/after on the test part."""
    first = results[0]
    member, model = first.member, first.model
    cfg, data, split = member.job.cfg, member.job.data, member.split
    y_test = first.truth["test"]
    member_proba = np.stack([r.proba["test"] for r in results])  # (networks, rows, classes)
    proba = member_proba.mean(axis=0)
    raw = np.mean([r.proba["test_uncalibrated"] for r in results], axis=0)
    trees = tree_member(results)  # `ensemble.trees` > 0: a gradient-boosted tree member blended in
    if trees is not None:
        proba = trees.blend(proba, trees.test)
        raw = trees.blend(raw, trees.test)  # "before" is the same blend with every T = 1
    pred = model.decide(proba)
    report = classification_report(y_test, pred, data.classes)
    n_bins = int(cfg.calibration.n_bins)
    calibration = calibration_summary(y_test, raw, proba, [r.temperature for r in results], n_bins)
    png = reliability(member, y_test, raw, proba, calibration, n_bins)
    block = split_block(results, report, calibration)
    log_split(member.split_tag, results, block)
    confidence = coverage.confidence_scores(  # selective classification
        proba,
        pred,
        member_proba,
        str(cfg.coverage.confidence),
        model.class_prior,
        float(model.prior_power),
    )
    oob = (  # the inner (out-of-bag) validation of an ensemble
        inner_validation.out_of_bag_report(results, data.classes, trees)
        if len(results) > 1
        else None
    )
    block.lightcurves = lightcurves.split_block(results, y_test, pred, data, split)
    if trees is not None:
        block.trees = {"weight": trees.weight, "checkpoint": trees_name(member.split_tag)}
    return SplitResult(block, y_test, pred, png, confidence, oob, trees, split.test)


def reliability(member: Member, y_test, raw, proba, calibration: dict, n_bins: int) -> dict | None:
    """The split's reliability diagram, submitted to the renderer (`reliability_<split>.png`, its
    name in `calibration["figure"]`); a dict whose "png" holds its bytes for TensorBoard
    (`report.run_figures`) once the renderer finishes. None with figures off."""
    if not member.job.cfg.figures.enabled:
        return None
    from xnet.plotting.reliability import reliability_figure

    fig = reliability_figure(
        y_test,
        raw,
        proba,
        calibration["temperature"],
        n_bins,
        title=f"{member.split_tag}: test part",
    )
    path = member.job.run_dir / f"reliability_{member.split_tag}.png"
    png: dict = {}
    member.job.renderer.submit(
        fig, path, then=lambda image: png.__setitem__("png", image), tight=False
    )
    calibration["figure"] = path.name
    return png


def mean_headline(results: list[MemberResult], part: str) -> dict:
    """The part's headline metrics (mean over networks) with the rows behind them: its size and
    per-class support (of the first network; an ensemble's inner splits share their sizes)."""
    report = results[0].reports[part]
    return {
        **{key: float(np.mean([r.reports[part][key] for r in results])) for key in HEADLINE},
        f"n_{part}": int(sum(row["support"] for row in report["per_class"].values())),
        "support": {c: int(row["support"]) for c, row in report["per_class"].items()},
    }


def split_block(results: list[MemberResult], report: dict, calibration: dict) -> SplitBlock:
    """The split's metrics.json block: sizes, training length, train/val headline, calibration
    and its test report (`report`)."""
    first, one = results[0], len(results) == 1
    member, split = first.member, first.member.split
    return SplitBlock(
        fold=split.fold,
        n_train=int(len(split.train)),
        n_train_resampled=int(len(member.dm.y_train)),
        n_val=int(len(split.val)),
        n_test=int(len(split.test)),
        epochs=first.epochs if one else [r.epochs for r in results],
        best_epoch=first.best_epoch if one else [r.best_epoch for r in results],
        checkpoint=first.checkpoint,
        checkpoints=[r.checkpoint for r in results],
        train=mean_headline(results, "train"),
        val=mean_headline(results, "val"),
        calibration=calibration,
        test=report,
    )


def log_split(tag: str, results: list[MemberResult], block: SplitBlock) -> None:
    """The split's test line and calibration verdict."""
    epochs = [r.epochs for r in results]
    trained = (
        f"{epochs[0]} epochs (best {results[0].best_epoch})"
        if len(results) == 1
        else (f"{len(results)} networks, {min(epochs)}-{max(epochs)} epochs")
    )
    log.info(
        "%s: %s, test (n=%d) accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f, "
        "ECE %.3f -> %.3f",
        tag,
        trained,
        block.n_test,
        block.test["accuracy"],
        block.test["balanced_accuracy"],
        block.test["macro_f1"],
        block.calibration["ece_test_before"],
        block.calibration["ece_test_after"],
    )
    log.info("%s: calibration: %s", tag, block.calibration["verdict"])
