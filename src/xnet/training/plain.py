"""The plain engine: one network fitted by Lightning's own loop (`xnet.training.engine`).

Per member (a split, an ensemble network): the member's `XrayDataModule` (its DataLoaders), a
`ClassificationTask` around the member's `Classifier` (xnet's MLP family, or the LightningModule
that `model._target_` names, instantiated by Hydra), Lightning's `EarlyStopping` and
`ModelCheckpoint` on `early_stopping.*`, the run's loggers (TensorBoard into the member's run,
`tensorboard/members/<tag>`, and `logger.loggers`) and callbacks (`callbacks`), and a Trainer
from `trainer.*` with every flag passed through. The best weights then go through the same
evaluation as the stacked engine's (`xnet.training.evaluation.evaluate_trained`).
"""

from __future__ import annotations

import inspect
import logging
import tempfile
from dataclasses import dataclass
from functools import partial

import hydra
import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from xnet.errors import XnetError
from xnet.models.classifier import Classifier
from xnet.models.optim import OPTIMIZER_KEYS, study_adam, study_settings
from xnet.models.plugged import accepted_arguments, network_class
from xnet.models.task import ClassificationTask
from xnet.training.board import member_logger
from xnet.training.checkpoint import build_classifier, member_prior
from xnet.training.engine import model_target
from xnet.training.stacking import IdleCoreThreads, Member

log = logging.getLogger("xnet.train")

#: model keys the plain engine itself reads (the rest go to a plugged-in model, if it takes them)
ENGINE_KEYS = ("batch_size", "class_weighted", "num_threads")


@dataclass
class Fitted:
    """A member's best Classifier, its best and last epoch and its TensorBoard logger."""

    model: Classifier
    best_epoch: int
    stop_epoch: int
    logger: object | None


def model_settings(model_cfg: DictConfig) -> dict:
    """The model config's fit settings, conf/model/mlp.yaml's where a plugged model's config
    leaves them out (batch size, class weighting, threads, the study's Adam)."""
    defaults = study_settings()
    return {key: model_cfg.get(key, defaults[key]) for key in (*OPTIMIZER_KEYS, "num_threads")}


def plugged_classifier(member: Member, prior) -> Classifier:
    """The Classifier around the LightningModule `model._target_` names, built by Hydra's
    `instantiate` from the arguments its constructor takes (`xnet.models.plugged`)."""
    cfg, dm = member.job.cfg, member.dm
    target = model_target(cfg)
    keys = {
        k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if k != "_target_"
    }
    offered = {
        "n_features": dm.n_features,
        "n_classes": len(dm.classes),
        "class_names": list(dm.classes),
        **keys,
    }
    args, unused = accepted_arguments(network_class(target), offered)
    unknown = [k for k in unused if k in keys and k not in study_settings()]
    if unknown:  # not conf/model/mlp.yaml's (offered to every model): a typo or a wrong model
        raise XnetError(
            f"model.{unknown[0]}: not an argument of {target} "
            f"(it takes {', '.join(args) or 'none of the offered ones'})"
        )
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items() if k != "class_names")
    log.info("model: %s(%s)", target, shown)
    left = [k for k in unused if k in keys and k not in ENGINE_KEYS]
    if left:
        log.info("model.%s: not arguments of %s, not used", ", model.".join(left), target)
    try:
        network = hydra.utils.instantiate({"_target_": target, **args}, _recursive_=False)
    except Exception as err:  # the user's constructor; its failure is one line
        cause = err.__cause__ or err
        raise XnetError(
            f"model._target_={target}: cannot be created ({type(cause).__name__}: {cause})"
        ) from None
    model = build_classifier(
        cfg,
        dm,
        prior,
        model_class=target,
        model_args=args,
        inputs=list(member.job.data.inputs),
        network=network,
    )
    check_logits(model, member, target)
    return model.train()


def check_logits(model: Classifier, member: Member, target: str) -> None:
    """The contract's one demand on forward: logits of shape (rows, classes)."""
    rows = {name: x[:2] for name, x in member.dm.val_inputs.items()}
    out = model.logits(rows)
    want = (len(member.dm.y_val[:2]), len(member.dm.classes))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise XnetError(
            f"model._target_={target}: forward returned {shape} for {want[0]} rows; it must "
            f"return class logits of shape (rows, {want[1]})"
        )


def extra_loggers(cfg: DictConfig, member: Member) -> list:
    """`logger.loggers`: Lightning loggers, each placed per member (`<run dir>/<key>/members/<tag>`
    for those that take save_dir, name, version; MLflow's run_name is the tag) unless set."""
    out = []
    for key, entry in (cfg.logger.get("loggers") or {}).items():
        if entry is None:
            continue
        params = inspect.signature(hydra.utils.get_class(entry._target_)).parameters
        place = {
            "save_dir": str(member.job.run_dir / key),
            "name": "members",
            "version": member.tag,
            "run_name": f"{member.job.run_dir.name}/{member.tag}",
        }
        extra = {k: v for k, v in place.items() if k in params and k not in entry}
        out.append(created(f"logger.loggers.{key}", entry, extra))
    return out


def created(where: str, entry, extra: dict | None = None):
    """A logger or callback from its config entry; one line if it cannot be made."""
    try:
        return hydra.utils.instantiate(entry, **(extra or {}))
    except Exception as err:  # a third-party class; its failure is one line
        cause = err.__cause__ or err
        raise XnetError(f"{where}: cannot be created ({type(cause).__name__}: {cause})") from None


def fit_member(member: Member) -> Fitted:
    """Train one member on the plain engine; its best weights by `early_stopping.monitor`."""
    cfg, dm = member.job.cfg, member.dm
    dm.setup("fit")
    settings = model_settings(cfg.model)
    dm.batch_size = max(1, min(int(settings["batch_size"]), len(dm.y_train)))
    L.seed_everything(member.seed, workers=False, verbose=False)  # weights as the stacked member
    prior = member_prior(member)
    model = (
        plugged_classifier(member, prior) if model_target(cfg) else build_classifier(cfg, dm, prior)
    )
    task = ClassificationTask(
        model,
        class_weights(dm) if bool(settings["class_weighted"]) else None,
        partial(study_adam, settings=settings, batch_size=dm.batch_size),
    )
    width = 10**6 if model_target(cfg) else int(cfg.model.hidden)
    threads = IdleCoreThreads(settings["num_threads"], 1, width)
    threads.apply()
    board = member_logger(member)
    es = cfg.early_stopping
    with tempfile.TemporaryDirectory(prefix="xnet-plain-") as tmp:
        best = ModelCheckpoint(
            dirpath=tmp,
            filename="best",
            monitor=str(es.monitor),
            mode=str(es.mode),
            save_weights_only=True,
        )
        stop = EarlyStopping(
            str(es.monitor),
            min_delta=float(es.min_delta),
            patience=int(es.patience),
            mode=str(es.mode),
        )
        trainer = fit(task, member, board, [stop, best, threads])
        best_epoch = restore_best(task, best.best_model_path)
    stop_epoch = max(trainer.current_epoch - 1, 0)
    return Fitted(
        task.model.cpu().eval(), stop_epoch if best_epoch is None else best_epoch, stop_epoch, board
    )


def fit(task: ClassificationTask, member: Member, board, callbacks: list) -> L.Trainer:
    """The Trainer of `trainer.*` (every flag passed through) with the member's loggers and the
    run's callbacks after xnet's own, fitted on the member's data module."""
    cfg = member.job.cfg
    loggers = ([board] if board is not None else []) + extra_loggers(cfg, member)
    own = [created(f"callbacks.{k}", v) for k, v in (cfg.get("callbacks") or {}).items() if v]
    try:
        trainer = hydra.utils.instantiate(
            cfg.trainer,
            logger=loggers or False,
            callbacks=[*callbacks, *own],
            enable_checkpointing=True,
        )
        trainer.fit(task, datamodule=member.dm)
    except MisconfigurationException as err:
        raise XnetError(f"trainer: {str(err).splitlines()[0]}") from None
    return trainer


def restore_best(task: ClassificationTask, path: str) -> int | None:
    """Load the best checkpoint's weights into the task (tensors and plain values only); its
    epoch. None, keeping the last weights, when no epoch was ever best (a monitor never finite)."""
    if not path:
        log.warning("no epoch had a finite monitored value; keeping the last weights")
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    task.load_state_dict(state["state_dict"])
    return int(state["epoch"])


def train_member(member: Member) -> dict:
    """Fit one member on the plain engine and evaluate its best weights as the stacked engine's."""
    from xnet.training.evaluation import evaluate_trained

    fit = fit_member(member)
    return evaluate_trained(member, fit.model, fit.best_epoch, fit.stop_epoch, fit.logger)


def class_weights(dm) -> torch.Tensor:
    """Inverse class frequency of the training part before resampling (`model.class_weighted`),
    as the stacked engine weighs its loss."""
    counts = torch.as_tensor(dm.class_counts()).float().clamp_min(1)
    return counts.sum() / (len(counts) * counts)
