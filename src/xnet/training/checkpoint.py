"""Checkpoints: one trained network as a Lightning-format dict of plain values and tensors
(`hyper_parameters`, `state_dict`, the data module's state), loadable with `weights_only=True`
by `xnet.models.Classifier.from_checkpoint` and by Lightning's
`XrayClassifier.load_from_checkpoint`; and its NumPy export beside it (`xnet.models.export`),
which prediction loads without torch."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from omegaconf import DictConfig

from xnet.models.compat import stamp
from xnet.files import atomic_write
from xnet.models.classifier import Classifier
from xnet.models.export import write_export
from xnet.models.optim import optimizer_settings
from xnet.training.datamodule import XrayDataModule
from xnet.training.stacking import encoder_specs


def build_classifier(
    cfg: DictConfig, dm: XrayDataModule, prior: np.ndarray, **plugged
) -> Classifier:
    """The Classifier of the config's MLP family, or with `plugged` (`model_class`, `model_args`,
    `inputs`, `network`: `xnet.training.plain`) of a network plugged in by `model._target_`."""
    m = cfg.model
    shape = plugged or dict(
        hidden=int(m.hidden),
        depth=int(m.depth),
        dropout=float(m.dropout),
        encoders=encoder_specs(m),
        **optimizer_settings(m),
    )
    return Classifier(
        n_features=dm.n_features,
        class_names=dm.classes,
        prior_power=float(cfg.decision.prior_power),
        class_prior=[float(v) for v in prior],
        **shape,
    )


def member_prior(member) -> np.ndarray:
    """The class shares of a member's outer training part (training and validation rows): the
    prior of the decision rule (`decision.prior_power`)."""
    data, split = member.job.data, member.split
    outer_train = np.concatenate([split.train, split.val])
    return np.bincount(data.y[outer_train], minlength=len(data.classes)) / len(outer_train)


def save_checkpoint(path: Path, model: Classifier, dm: XrayDataModule, epoch: int) -> None:
    """A Lightning-format checkpoint of plain values and tensors only (weights_only-loadable)."""
    state = dm.state_dict()
    payload = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hyper_parameters),
        "pytorch-lightning_version": L.__version__,
        "epoch": epoch,
        "global_step": 0,
        "XrayDataModule": state,
        **stamp(state),  # xnet version and feature schema, checked on loading (xnet.models.compat)
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    if model.model_class:  # a plugged-in network runs its own forward: no NumPy export of it
        return
    # beside it, the NumPy export that xnet.predict loads without torch (the .ckpt stays the truth)
    meta = {key: payload[key] for key in ("hyper_parameters", "epoch", "XrayDataModule")}
    write_export(
        path, {k: v.detach().cpu().numpy() for k, v in payload["state_dict"].items()}, meta
    )
