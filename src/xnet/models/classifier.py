"""The checkpointed classifier: one trained network, its class names, softmax temperature and
decision rule. A plain `nn.Module` (no Lightning), so prediction is a forward pass.

Its arguments are a checkpoint's `hyper_parameters`; the checkpoint format (written and read) is
`xnet.models.artifacts`'s (`xnet.models.artifacts.checkpoint.load_classifier` builds one from a
checkpoint); `xnet.models.XrayClassifier` is the same model as a LightningModule, for
`XrayClassifier.load_from_checkpoint`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from xnet.models.decision import decide
from xnet.models.nets import FEATURES, MultiInputNet, single_network


class Classifier(nn.Module):
    """One trained network. `fit_settings` (optimiser values) are kept only as a record of the fit;
    `encoders` names the extra inputs' encoders (see `xnet.models.encoders`).

    A network plugged in by config (`model._target_`) is `model_class` (dotted path) called with
    `model_args` (`xnet.models.plugged`); it takes the dict of named inputs and `inputs` names the
    ones besides the catalog features. `network` hands over one already built (by training)."""

    def __init__(
        self,
        n_features: int,
        class_names: Sequence[str],
        hidden: int = 30,
        depth: int = 2,
        dropout: float = 0.0,
        prior_power: float = 0.0,
        class_prior: Sequence[float] | None = None,
        encoders: Mapping | None = None,
        model_class: str | None = None,
        model_args: Mapping | None = None,
        inputs: Sequence[str] | None = None,
        network: nn.Module | None = None,
        **fit_settings,
    ):
        super().__init__()
        self.class_names = list(class_names)
        self.prior_power = float(prior_power or 0.0)
        self.class_prior = None if class_prior is None else [float(v) for v in class_prior]
        self.model_class = str(model_class) if model_class else None
        shape = (
            {"model_class": self.model_class, "model_args": dict(model_args or {})}
            if self.model_class
            else {"hidden": int(hidden), "depth": int(depth), "dropout": float(dropout)}
        )
        self.hyper_parameters = dict(
            n_features=int(n_features),
            class_names=self.class_names,
            **shape,
            prior_power=self.prior_power,
            class_prior=self.class_prior,
            **fit_settings,
        )
        if encoders:
            self.hyper_parameters["encoders"] = {str(k): dict(v) for k, v in dict(encoders).items()}
        if inputs:
            self.hyper_parameters["inputs"] = [str(name) for name in inputs]
        if network is None and self.model_class:
            from xnet.models.plugged import build_network

            network = build_network(self.model_class, shape["model_args"])
        if network is None:
            network = single_network(
                n_features, len(self.class_names), hidden, depth, dropout, encoders
            )
        self.net = network
        # softmax temperature; 1.0 until calibration fits it on the validation split (saved with
        # the weights)
        self.register_buffer("temperature", torch.ones(()))

    def _inputs(self, x):
        """What the network takes: the feature tensor (plain MLP) or the dict of named inputs."""
        if self.model_class or isinstance(self.net, MultiInputNet):
            return x if isinstance(x, dict) else {FEATURES: x}
        return x[FEATURES] if isinstance(x, dict) else x

    def forward(self, x) -> torch.Tensor:
        return self.net(self._inputs(x))

    @torch.no_grad()
    def logits(self, x) -> torch.Tensor:
        """Raw logits in evaluation mode (no temperature); `x` is the feature tensor or a dict of
        named inputs."""
        self.eval()
        return self.net(self._inputs(x))

    @torch.no_grad()
    def predict_proba(self, x) -> torch.Tensor:
        """Class probabilities, with the fitted temperature applied."""
        return torch.softmax(self.logits(x) / self.temperature, dim=1)

    def decide(self, proba) -> np.ndarray:
        return decide(proba, self.class_prior, self.prior_power)
