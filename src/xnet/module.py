"""LightningModule: the MLP with the study's cross-entropy and Adam, logged per epoch."""

from __future__ import annotations

from typing import Sequence

import lightning as L
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from lightning.pytorch.trainer.states import TrainerFn
from torchmetrics import ClasswiseWrapper
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from xnet.metrics import headline_metrics
from xnet.nets import MLP
from xnet.plots import confusion_matrix_figure


class XrayClassifier(L.LightningModule):
    """Plain-value hyperparameters only, so a checkpoint loads anywhere (`load_from_checkpoint`)."""

    def __init__(
        self,
        n_features: int,
        class_names: Sequence[str],
        hidden: int = 30,
        depth: int = 2,
        dropout: float = 0.0,
        lr: float = 0.01,
        beta1: float = 0.15,
        beta2: float = 0.990,
        eps: float = 1e-10,
        l2_alpha: float = 1e-4,
        batch_size: int = 200,
        class_weights: Sequence[float] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.class_names = list(class_names)
        n_classes = len(self.class_names)
        self.net = MLP(n_features, n_classes, hidden, depth, dropout)
        weights = torch.as_tensor(class_weights, dtype=torch.float32) if class_weights is not None else None
        self.register_buffer("class_weights", weights, persistent=False)
        # softmax temperature; 1.0 until calibration fits it on the validation split (saved with the weights)
        self.register_buffer("temperature", torch.ones(()))
        self.train_metrics = headline_metrics(n_classes, "train/")
        self.val_metrics = headline_metrics(n_classes, "val/")
        self.test_metrics = headline_metrics(n_classes, "test/")
        labels = [c.replace("/", "_") for c in self.class_names]
        self.val_per_class = ClasswiseWrapper(MulticlassAccuracy(n_classes, average=None), labels=labels, prefix="val/acc_")
        self.test_per_class = ClasswiseWrapper(MulticlassAccuracy(n_classes, average=None), labels=labels, prefix="test/acc_")
        self.val_confusion = MulticlassConfusionMatrix(n_classes)
        self.test_confusion = MulticlassConfusionMatrix(n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, with the fitted temperature applied."""
        self.eval()
        return torch.softmax(self.net(x) / self.temperature, dim=1)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y, weight=self.class_weights)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        loss = self._loss(logits, y)
        self.train_metrics.update(logits.detach(), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def on_train_epoch_end(self) -> None:
        self.log_dict(self.train_metrics.compute())
        self.train_metrics.reset()

    def _evaluate(self, batch, stage: str, metrics, per_class, confusion) -> None:
        x, y = batch
        logits = self.net(x)
        self.log(f"{stage}/loss", self._loss(logits, y), on_step=False, on_epoch=True, batch_size=len(y))
        metrics.update(logits, y)
        per_class.update(logits, y)
        confusion.update(logits, y)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val", self.val_metrics, self.val_per_class, self.val_confusion)

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test", self.test_metrics, self.test_per_class, self.test_confusion)

    def _epoch_end(self, stage: str, metrics, per_class, confusion, draw: bool) -> None:
        self.log_dict(metrics.compute())
        self.log_dict(per_class.compute())
        if draw:
            self._log_confusion(stage, confusion.compute())
        for m in (metrics, per_class, confusion):
            m.reset()

    def on_validation_epoch_end(self) -> None:
        # the figure only when validating the best model after fit, not every training epoch
        draw = self.trainer.state.fn == TrainerFn.VALIDATING
        self._epoch_end("val", self.val_metrics, self.val_per_class, self.val_confusion, draw)

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test", self.test_metrics, self.test_per_class, self.test_confusion, True)

    def _log_confusion(self, stage: str, cm: torch.Tensor) -> None:
        experiment = getattr(self.logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "add_figure"):
            return
        fig = confusion_matrix_figure(cm.cpu().numpy(), self.class_names, title=f"{stage} confusion matrix")
        experiment.add_figure(f"{stage}/confusion_matrix", fig, global_step=self.current_epoch)
        plt.close(fig)

    def configure_optimizers(self):
        """Adam with the study's betas and eps; scikit-learn's L2 (alpha/2 * ||W||^2 / batch, weights
        only, not biases) is Adam's coupled weight decay alpha / batch on the weight matrices."""
        hp = self.hparams
        n_train = getattr(getattr(self.trainer, "datamodule", None), "y_train", None)
        batch = min(hp.batch_size, len(n_train)) if n_train is not None else hp.batch_size
        weights = [p for n, p in self.net.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.net.named_parameters() if not n.endswith("weight")]
        groups = [
            {"params": weights, "weight_decay": hp.l2_alpha / batch},
            {"params": biases, "weight_decay": 0.0},
        ]
        return torch.optim.Adam(groups, lr=hp.lr, betas=(hp.beta1, hp.beta2), eps=hp.eps, foreach=True)
