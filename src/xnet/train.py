"""`python -m xnet.train`: train and evaluate on a labelled catalog (one split or K folds).

Writes into the Hydra run directory: metrics.json, checkpoints/, tensorboard/ and .hydra/.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import hydra
import lightning as L
import matplotlib.pyplot as plt
import numpy as np
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from xnet import deferral
from xnet.config import CONFIG_DIR
from xnet.datamodule import StackedDataModule, XrayDataModule
from xnet.calibration import expected_calibration_error, fit_temperature, reliability_figure, summarize_calibration, tempered_probabilities
from xnet.dataset import LabelledSet, Split, ensemble_splits, make_splits, prepare_labelled_set
from xnet.errors import XnetError
from xnet.metrics import HEADLINE, classification_report, summarize_folds
from xnet.module import StackedClassifier, XrayClassifier
from xnet.figures import write_run_figures
from xnet.plots import confusion_matrix_figure

log = logging.getLogger(__name__)


def quiet_lightning() -> None:
    """Lightning's start-up chatter (GPU available, model summary, ...) is noise for a CPU MLP."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for message in (".*does not have many workers.*", ".*LeafSpec.*", ".*treespec.*", ".*exists and is not empty.*"):
        warnings.filterwarnings("ignore", message=message)


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


@dataclass
class Job:
    """One training run: its config, run directory, labelled set and splits."""

    cfg: DictConfig
    run_dir: Path
    data: LabelledSet
    splits: list[Split]


@dataclass
class Member:
    """One model to fit: a split of a job (a fold, or the hold-out split), and for an ensemble one
    of its networks (its own inner train/validation split of the training part, its own seed)."""

    job: Job
    split: Split
    dm: XrayDataModule
    seed: int = 1
    index: int = 0

    @property
    def split_tag(self) -> str:
        return f"fold_{self.split.fold}" if len(self.job.splits) > 1 else "holdout"

    @property
    def tag(self) -> str:
        return f"{self.split_tag}-m{self.index}" if int(self.job.cfg.ensemble.members) > 1 else self.split_tag


#: config keys stacked members may differ in; everything else must be shared to stack them
MEMBER_KEYS = ("model.hidden", "model.dropout", "seed", "cv", "split.test_size", "split.val_size", "task_name")


def stack_key(cfg: DictConfig) -> str:
    """Members whose configs agree on this string train together in one StackedClassifier."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    for dotted in MEMBER_KEYS:
        node = plain
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return json.dumps(plain, sort_keys=True, default=str)


def _key(*nodes) -> str:
    return json.dumps([OmegaConf.to_container(n, resolve=True) if isinstance(n, DictConfig) else n for n in nodes], sort_keys=True, default=str)


def plan_stacks(members: list[Member]) -> list[list[Member]]:
    """Group members into stacks: same stack key and batches per epoch, widths within `batching.max_width_ratio` of
    the stack's narrowest (a narrow member padded to a much wider stack would cost as much as the
    wide one). With `batching.enabled=false` every member trains alone (the sequential reference)."""
    groups: dict[str, list[Member]] = {}
    for index, member in enumerate(members):
        if not member.job.cfg.batching.enabled:
            groups[str(index)] = [member]
            continue
        # Adam keeps one step count per stacked tensor: members must take the same batches per epoch
        member.dm.setup("fit")
        n = len(member.dm.y_train)
        batch = min(int(member.job.cfg.model.batch_size), n)
        key = f"{stack_key(member.job.cfg)}|batch={batch}|steps={-(-n // batch)}"
        groups.setdefault(key, []).append(member)
    stacks = []
    for group in groups.values():
        ratio = float(group[0].job.cfg.batching.max_width_ratio)
        current: list[Member] = []
        for member in sorted(group, key=lambda mb: int(mb.job.cfg.model.hidden)):
            if current and int(member.job.cfg.model.hidden) > ratio * int(current[0].job.cfg.model.hidden):
                stacks.append(current)
                current = []
            current.append(member)
        stacks.append(current)
    return stacks


def prepare_job(cfg: DictConfig, run_dir: Path, cache: dict | None = None) -> Job:
    """Load the labelled set and make the splits (shared by jobs whose data settings agree)."""
    cache = {} if cache is None else cache
    key = _key(cfg.data, cfg.features, cfg.split, cfg.cv, cfg.seed)
    if key not in cache:
        data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
        folds = int(cfg.cv.folds or 0)
        if folds == 1 or folds < 0:
            raise XnetError(f"cv.folds={folds}: use 0 for one train/test split or K >= 2 for K-fold CV")
        cache[key] = (data, list(make_splits(data.y, cfg.split, folds, int(cfg.seed))))
        log.info(
            "%s: %d sources, %d classes (%s), %d features (%s)",
            data.catalog.name, len(data.y), len(data.classes), ", ".join(data.classes),
            len(data.feature_names), data.spec.name,
        )
    data, splits = cache[key]
    return Job(cfg=cfg, run_dir=Path(run_dir), data=data, splits=splits)


def member_logger(member: Member):
    name = member.job.cfg.logger.get("name")
    if not name:
        return None
    return TensorBoardLogger(save_dir=str(member.job.run_dir), name=str(name), version=member.tag, default_hp_metric=False)


def stack_threads(setting, n_members: int, width: int) -> int:
    """torch threads for a stack: `model.num_threads`, or with `auto` one thread for a lone small
    network (thread start-up costs more than its tiny matrix products) and every core for a
    stack (measured: 5 x 30-30 members 16 % faster per step on 2 cores, 5 x 100-100 38 %)."""
    if str(setting) != "auto":
        return max(1, int(setting))
    return 1 if n_members * width <= 60 else max(1, os.cpu_count() or 1)


def fit_members(members: list[Member]) -> list[dict]:
    """Train members that share a stack key as one StackedClassifier; evaluate each one's best weights."""
    cfg = members[0].job.cfg
    m, es = cfg.model, cfg.early_stopping
    torch.set_num_threads(stack_threads(m.num_threads, len(members), max(int(mb.job.cfg.model.hidden) for mb in members)))
    L.seed_everything(int(cfg.seed), workers=False, verbose=False)
    seeds = [int(mb.seed) for mb in members]
    data = StackedDataModule([mb.dm for mb in members], batch_size=int(m.batch_size), seeds=seeds)
    module = StackedClassifier(
        n_features=members[0].dm.n_features,
        class_names=members[0].dm.classes,
        hiddens=[int(mb.job.cfg.model.hidden) for mb in members],
        depth=int(m.depth),
        dropouts=[float(mb.job.cfg.model.dropout) for mb in members],
        seeds=seeds,
        **optimizer_settings(m),
        monitor=str(es.monitor),
        mode=str(es.mode),
        patience=int(es.patience),
        log_every_n_epochs=int(cfg.batching.log_every_n_epochs),
    )
    module.member_loggers = [member_logger(mb) for mb in members]
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False)
    trainer.fit(module, datamodule=data)
    return [evaluate_member(module, k, mb) for k, mb in enumerate(members)]


def optimizer_settings(m: DictConfig) -> dict:
    """The model config's training settings as the plain values both LightningModules take."""
    return {
        "lr": float(m.lr),
        "beta1": float(m.beta1),
        "beta2": float(m.beta2),
        "eps": float(m.eps),
        "l2_alpha": float(m.l2_alpha),
        "batch_size": int(m.batch_size),
        "class_weighted": bool(m.class_weighted),
    }


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
    return {"block": block, "y_true": y_test, "y_pred": pred, "reliability": fig}


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


def train_many(cfgs: Sequence[DictConfig], run_dirs: Sequence[str | Path]) -> list[dict]:
    """Train several runs; members that can share a StackedClassifier (the folds of a run, runs
    differing only in width/dropout/seed) train together unless `batching.enabled=false`.
    Writes each run's metrics.json and returns the payloads."""
    quiet_lightning()
    cache: dict = {}
    jobs = [prepare_job(cfg, Path(d), cache) for cfg, d in zip(cfgs, run_dirs)]
    # one scaler / resampled training set per (labelled set, split, resampling, seed), shared by
    # every member that trains on it (the widths of a sweep on the same fold)
    modules: dict[tuple, XrayDataModule] = {}
    members = []
    for job in jobs:
        cfg = job.cfg
        for outer in job.splits:
            inner = ensemble_splits(outer, job.data.y, float(cfg.split.val_size), int(cfg.seed), int(cfg.ensemble.members))
            for index, (split, seed) in enumerate(inner):
                key = (id(job.data), split.fold, index, _key(cfg.resample, seed))
                if key not in modules:
                    modules[key] = XrayDataModule(job.data, split, cfg.resample, seed=seed)
                members.append(Member(job=job, split=split, dm=modules[key], seed=seed, index=index))
    results: dict[int, dict] = {}
    for stack in plan_stacks(members):
        for member, result in zip(stack, fit_members(stack)):
            results[id(member)] = result
    payloads = []
    for job in jobs:
        per_split: dict[int, list[dict]] = {}
        for mb in members:
            if mb.job is job:
                per_split.setdefault(mb.split.fold, []).append(results[id(mb)])
        split_results = [evaluate_split(group) for group in per_split.values()]
        payload = job_payload(job, split_results)
        if job.cfg.figures.enabled:
            payload["figures"] = run_figures(job, payload, [r["reliability"] for r in split_results])
        write_json(job.run_dir / "metrics.json", payload)
        payloads.append(payload)
    return payloads


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


def train(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run the configured training; returns (and writes) the metrics.json payload."""
    return train_many([cfg], [run_dir])[0]


def optimized_value(payload: dict, name: str) -> float:
    """The metric Hydra sweepers optimise: the CV mean where there are folds, else the test value."""
    source = payload.get("mean", payload)
    if name not in source:
        raise XnetError(f"optimized_metric={name!r} is not one of {', '.join(HEADLINE)}")
    return float(source[name])


def run_deferred(jobs: list[tuple[DictConfig, str]]) -> list[float]:
    """Train recorded jobs together (stacked where possible); their optimized metrics."""
    payloads = train_many([cfg for cfg, _ in jobs], [run_dir for _, run_dir in jobs])
    return [optimized_value(p, str(cfg.optimized_metric)) for p, (cfg, _) in zip(payloads, jobs)]


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    if cfg.optimized_metric not in HEADLINE:
        raise XnetError(f"optimized_metric={cfg.optimized_metric!r} is not one of {', '.join(HEADLINE)}")
    run_dir = HydraConfig.get().runtime.output_dir
    if deferral.recorded is not None:  # the stacked sweep launcher trains all jobs afterwards
        deferral.recorded.append((cfg, run_dir))
        return None
    payload = train(cfg, run_dir)
    return optimized_value(payload, str(cfg.optimized_metric))


def check_group_choices(argv: list[str], config_dir: Path = CONFIG_DIR) -> None:
    """A one-line error for `group=value` naming a config that does not exist (Hydra's own message
    spans a screen). Looks in conf/ and any --config-dir/-cd; other mistakes are left to Hydra."""
    dirs = [config_dir]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]))
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or "." in key or "/" in key or key.startswith("-") or not value or value == "null":
            continue
        groups = [d / key for d in dirs if (d / key).is_dir()]
        if not groups:
            continue
        for choice in value.split(","):
            if not any((g / f"{choice}.yaml").exists() for g in groups):
                options = sorted({p.stem for g in groups for p in g.glob("*.yaml")})
                raise XnetError(f"{key}={choice}: no such {key} config; available: {', '.join(options)}")


def main() -> None:
    import sys

    from xnet.errors import exit_on_error

    exit_on_error(lambda: check_group_choices(sys.argv[1:]))
    _hydra_main()


if __name__ == "__main__":
    # run the importable xnet.train, not this __main__ copy: joblib's workers then pickle the task
    # function by reference instead of by value (which drags torch objects along and fails)
    from xnet.train import main as _main

    _main()
