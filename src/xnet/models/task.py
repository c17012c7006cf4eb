"""`ClassificationTask`: the LightningModule of the plain engine (`xnet.training.plain`).

It trains one `Classifier` (xnet's MLP family, or a network plugged in by `model._target_`) the
Lightning way: batches of named inputs `({"features": (rows, n_features), ...}, labels)` from the
data module's DataLoaders, cross-entropy on the logits (class-weighted with `class_weights`), one
optimiser step per batch under Lightning's automatic optimisation, and per epoch the scalars the
stacked engine logs, computed by torchmetrics: train/loss, train/accuracy, train/balanced_accuracy;
val/loss, val/accuracy, val/balanced_accuracy, val/macro_f1 and val/acc_<class>. The x axis of
every scalar is the epoch (a logged `step`), as in the stacked engine's TensorBoard runs.

The optimiser is the plugged network's own `configure_optimizers` where it defines one, else
`optimizer(network)` (the study's Adam for the MLP family, `xnet.models.optim.study_adam`).
"""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassRecall
from torchmetrics.wrappers import ClasswiseWrapper

from xnet.models.classifier import Classifier


def own_optimizers(net: nn.Module) -> bool:
    """Whether a network is a LightningModule with its own `configure_optimizers`."""
    return (
        isinstance(net, L.LightningModule)
        and type(net).configure_optimizers is not L.LightningModule.configure_optimizers
    )


class ClassificationTask(L.LightningModule):
    """Trains `model` (its `net` computes class logits from the named inputs)."""

    def __init__(
        self,
        model: Classifier,
        class_weights: torch.Tensor | None = None,
        optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    ):
        super().__init__()
        self.model = model
        names = list(model.class_names)
        n = len(names)
        self.weighted = class_weights is not None
        weights = class_weights if self.weighted else torch.ones(n)
        self.register_buffer("class_weights", weights.float(), persistent=False)
        self.optimizer = optimizer
        self.train_loss, self.val_loss = MeanMetric(), MeanMetric()
        headline = {
            "accuracy": MulticlassAccuracy(n, average="micro"),
            "balanced_accuracy": MulticlassRecall(n, average="macro"),
        }
        # no compute groups: ClasswiseWrapper's inner metric must see its own updates
        self.train_metrics = MetricCollection(headline, prefix="train/", compute_groups=False)
        self.val_metrics = MetricCollection(
            {
                **{key: metric.clone() for key, metric in headline.items()},
                "macro_f1": MulticlassF1Score(n, average="macro"),
                "per_class": ClasswiseWrapper(
                    MulticlassRecall(n, average=None), labels=names, prefix="acc_"
                ),
            },
            prefix="val/",
            compute_groups=False,
        )

    def forward(self, inputs) -> torch.Tensor:
        return self.model(inputs)

    def setup(self, stage: str) -> None:
        if isinstance(self.model.net, L.LightningModule):  # its configure_optimizers may ask
            self.model.net.trainer = self.trainer

    def training_step(self, batch, batch_idx):
        inputs, y = batch
        logits = self(inputs)
        weight = self.class_weights if self.weighted else None
        loss = F.cross_entropy(logits, y, weight=weight)
        with torch.no_grad():
            self.train_loss.update(F.cross_entropy(logits.float(), y, reduction="none"))
            self.train_metrics.update(logits, y)
        return loss

    def validation_step(self, batch, batch_idx):
        inputs, y = batch
        logits = self(inputs)
        per_row = F.cross_entropy(logits.float(), y, reduction="none")
        self.val_loss.update(per_row, self.class_weights[y])  # the weighted mean, as the loss
        self.val_metrics.update(logits, y)

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train/loss", self.train_loss, self.train_metrics)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val/loss", self.val_loss, self.val_metrics)

    def _log_epoch(self, name: str, loss: MeanMetric, metrics: MetricCollection) -> None:
        """The epoch's values (metrics computed over all its batches), logged with the epoch as
        the step, then reset for the next epoch."""
        values = {name: loss.compute(), **metrics.compute()}
        loss.reset()
        metrics.reset()
        self.log_dict({**values, "step": float(self.current_epoch)}, on_epoch=True)

    def configure_optimizers(self):
        if own_optimizers(self.model.net):
            return self.model.net.configure_optimizers()
        if self.optimizer is None:
            raise ValueError("ClassificationTask needs an optimizer for a network without one")
        return self.optimizer(self.model.net)
