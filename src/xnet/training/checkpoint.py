"""The classifier a member's fit builds (`build_classifier`: the config's MLP family or a plugged-in
network) and the class prior of its decision rule (`member_prior`). What is saved of it, and
how, is `xnet.models.artifacts`'s (`xnet.models.artifacts.checkpoint.write_checkpoint`)."""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from xnet.models.classifier import Classifier
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
