"""LightningModules: `StackedClassifier` trains, `XrayClassifier` is what a checkpoint holds.

Training advances several members at once (the folds of a CV run, the jobs of a batched sweep):
one `StackedMLP`, one optimizer step for all, each member with its own data, early stopping and
best weights. Lightning's per-step overhead dwarfs a 30-30 MLP's arithmetic, so one Lightning
training step is one whole epoch: the mini-batches (index batches into in-memory tensors) run
inside it under manual optimisation, and metrics are logged once per epoch.
"""

from __future__ import annotations

import math
from typing import Sequence

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from xnet.errors import XnetError
from xnet.models.nets import MLP, StackedMLP

#: what early stopping may monitor (computed on each member's validation split every epoch)
MONITORS = ("val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1")


class XrayClassifier(L.LightningModule):
    """One trained MLP with its class names and softmax temperature.

    Plain-value hyperparameters only, so `XrayClassifier.load_from_checkpoint(path,
    weights_only=True)` works anywhere; the optimiser settings are kept as a record of the fit.
    """

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
        class_weighted: bool = False,
        prior_power: float = 0.0,
        class_prior: Sequence[float] | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.class_names = list(class_names)
        self.net = MLP(n_features, len(self.class_names), hidden, depth, dropout)
        # softmax temperature; 1.0 until calibration fits it on the validation split (saved with the weights)
        self.register_buffer("temperature", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Raw logits in evaluation mode (no temperature)."""
        self.eval()
        return self.net(x)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities, with the fitted temperature applied."""
        return torch.softmax(self.logits(x) / self.temperature, dim=1)

    def decide(self, proba):
        """Predicted class indices from (calibrated, possibly ensemble-averaged) probabilities:
        argmax of log p - prior_power * log(training class share). With prior_power 0 this is the
        plain argmax; towards 1 it trades accuracy on common classes for recall on rare ones."""
        proba = proba.numpy() if isinstance(proba, torch.Tensor) else np.asarray(proba)
        return prior_adjusted_classes(proba, self.hparams.class_prior, float(self.hparams.prior_power))


def prior_adjusted_classes(proba: np.ndarray, prior, power: float) -> np.ndarray:
    """argmax over classes of log p - power * log prior (plain argmax for power 0 or no prior)."""
    if power == 0 or prior is None:
        return proba.argmax(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(proba) - power * np.log(np.asarray(prior, dtype=float))).argmax(axis=1)


def confusion_matrices(pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Per-member confusion matrices (members, true, predicted) of the valid rows."""
    flat = y * n_classes + pred
    counts = torch.zeros(y.shape[0], n_classes * n_classes, device=y.device).scatter_add_(1, flat, valid.float())
    return counts.view(-1, n_classes, n_classes)


def headline_from_confusion(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    """Accuracy, balanced accuracy (macro recall) and macro-F1 per member, over classes present."""
    diag = torch.diagonal(cm, dim1=1, dim2=2)
    support, predicted = cm.sum(2), cm.sum(1)
    present = (support > 0).float()
    recall = diag / support.clamp_min(1)
    precision = diag / predicted.clamp_min(1)
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-12), 0.0)
    n_present = present.sum(1).clamp_min(1)
    return {
        "accuracy": diag.sum(1) / cm.sum((1, 2)).clamp_min(1),
        "balanced_accuracy": (recall * present).sum(1) / n_present,
        "macro_f1": (f1 * present).sum(1) / n_present,
        "recall": recall,
    }


class StackedClassifier(L.LightningModule):
    """Trains M members (same depth and optimiser, their own width, dropout, seed and data).

    Data comes from a `StackedDataModule`; members must take the same number of batches per epoch
    (one Adam step count for all; `stacking.plan_stacks` sees to it). Per member and epoch: train loss / accuracy / balanced
    accuracy, validation loss / accuracy / balanced accuracy / macro-F1 / per-class accuracy, early
    stopping on `monitor` with `patience`, and a snapshot of the best weights (in memory). A member
    that has stopped keeps training with the rest, but its snapshot no longer changes, so its
    result is the one a separate fit with the same early stopping would give.
    """

    def __init__(
        self,
        n_features: int,
        class_names: Sequence[str],
        hiddens: Sequence[int],
        depth: int = 2,
        dropouts: Sequence[float] | None = None,
        seeds: Sequence[int] | None = None,
        lr: float = 0.01,
        beta1: float = 0.15,
        beta2: float = 0.990,
        eps: float = 1e-10,
        l2_alpha: float = 1e-4,
        batch_size: int = 200,
        class_weighted: bool = False,
        monitor: str = "val/loss",
        mode: str = "min",
        patience: int = 60,
        log_every_n_epochs: int = 1,
    ):
        super().__init__()
        if monitor not in MONITORS:
            raise XnetError(f"early_stopping.monitor={monitor!r} is not one of {', '.join(MONITORS)}")
        if mode not in ("min", "max"):
            raise XnetError(f"early_stopping.mode={mode!r} is not 'min' or 'max'")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.class_names = list(class_names)
        self.n_members = len(hiddens)
        self.net = StackedMLP(n_features, len(self.class_names), list(hiddens), depth, list(dropouts or []) or None, list(seeds or []) or None)
        self.sign = 1.0 if mode == "min" else -1.0
        self.best_score = torch.full((self.n_members,), math.inf)  # sign * monitored value
        self.best_epoch = torch.zeros(self.n_members, dtype=torch.long)
        self.wait = torch.zeros(self.n_members, dtype=torch.long)
        self.stopped = torch.zeros(self.n_members, dtype=torch.bool)
        self.stop_epoch = torch.zeros(self.n_members, dtype=torch.long)
        self.best_params: list[torch.Tensor] = []  # snapshot per parameter, taken on the training device in on_fit_start
        self.member_loggers: list = [None] * self.n_members  # TensorBoardLogger per member, set by the caller

    def configure_optimizers(self):
        """Adam with the study's betas and eps, one parameter group (one fused kernel per step).
        scikit-learn's L2 penalty alpha/2 * ||W||^2 / batch on the weight matrices only (not the
        biases) is added to their gradients in `training_step`, as Adam's coupled weight decay does."""
        hp = self.hparams
        kwargs = dict(lr=hp.lr, betas=(hp.beta1, hp.beta2), eps=hp.eps)
        try:
            return torch.optim.Adam(self.net.parameters(), fused=True, **kwargs)
        except (RuntimeError, TypeError):  # fused kernels missing for this device/dtype
            return torch.optim.Adam(self.net.parameters(), foreach=True, **kwargs)

    def on_fit_start(self) -> None:
        data = self.trainer.datamodule
        data.to(self.device)
        n_classes = len(self.class_names)
        if self.hparams.class_weighted:
            counts = data.class_counts.float().clamp_min(1)
            self.loss_weights = counts.sum(1, keepdim=True) / (n_classes * counts)
        else:
            self.loss_weights = torch.ones(self.n_members, n_classes, device=self.device)
        self.train_support = data.train_support.float()
        self.best_params = [p.detach().clone() for p in self.net.parameters()]

    def training_step(self, batch, batch_idx):
        data = self.trainer.datamodule
        optimizer = self.optimizers().optimizer
        net, members = self.net, torch.arange(self.n_members)[:, None]
        weights = list(net.weights)
        decay = self.hparams.l2_alpha / data.batch_size
        n_classes = len(self.class_names)
        order, valid = data.epoch_order()
        width = data.batch_size
        rows_per_step = valid.view(self.n_members, -1, width).sum(2)
        if bool((rows_per_step == 0).any()):
            raise RuntimeError("stacked members need the same number of batches per epoch (see stacking.plan_stacks)")
        full_steps = set((rows_per_step == width).all(0).nonzero().flatten().tolist())
        track = any(self.member_loggers)  # per-epoch train metrics only when someone logs them
        hits = torch.zeros(self.n_members, n_classes, device=self.device)
        loss_sum = torch.zeros(self.n_members, device=self.device)
        # one gather per epoch; each step then takes a view
        x_epoch, y_epoch = data.x_train[members, order], data.y_train[members, order]
        weighted = self.hparams.class_weighted
        net.train()
        for step, start in enumerate(range(0, order.shape[1], width)):
            x, y = x_epoch[:, start : start + width], y_epoch[:, start : start + width]
            logits = net(x)
            ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")
            if step in full_steps and not weighted:
                loss = ce.mean(1).sum()
            else:
                ok = valid[:, start : start + width]
                w = torch.gather(self.loss_weights, 1, y) * ok if weighted else ok.float()
                loss = ((ce * w).sum(1) / w.sum(1).clamp_min(1e-12)).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                torch._foreach_add_([p.grad for p in weights], weights, alpha=decay)
            optimizer.step()
            if track:
                with torch.no_grad():
                    ok = valid[:, start : start + width]
                    loss_sum += (ce * ok).sum(1)
                    hits.scatter_add_(1, y, ((logits.argmax(2) == y) & ok).float())
        self._end_epoch(data, hits, loss_sum)

    @torch.no_grad()
    def _end_epoch(self, data, hits: torch.Tensor, loss_sum: torch.Tensor) -> None:
        epoch = self.current_epoch
        net = self.net
        net.eval()
        logits = net(data.x_val)
        ce = F.cross_entropy(logits.transpose(1, 2), data.y_val, reduction="none")
        w = torch.gather(self.loss_weights, 1, data.y_val) * data.val_mask
        val_loss = (ce * w).sum(1) / w.sum(1).clamp_min(1e-12)
        values = {"val/loss": val_loss}
        logged = any(self.member_loggers)
        if logged or self.hparams.monitor != "val/loss":  # skip the confusion matrices when unused
            cm = confusion_matrices(logits.argmax(2), data.y_val, data.val_mask, len(self.class_names))
            val = headline_from_confusion(cm)
            values.update({f"val/{k}": v for k, v in val.items() if k != "recall"})

        # early stopping and best weights, per member
        score = self.sign * values[self.hparams.monitor].cpu()
        active = ~self.stopped
        improved = active & torch.isfinite(score) & (score < self.best_score)
        if improved.any():
            self.best_score[improved] = score[improved]
            self.best_epoch[improved] = epoch
            self.wait[improved] = 0
            on_device = improved.to(self.device)
            for best, p in zip(self.best_params, net.parameters()):
                best[on_device] = p.detach()[on_device]
        waiting = active & ~improved
        self.wait[waiting] += 1
        newly = active & ((self.wait >= self.hparams.patience) | ~torch.isfinite(score))
        self.stopped |= newly
        self.stop_epoch[newly] = epoch
        if bool(self.stopped.all()):
            self.trainer.should_stop = True

        every = max(1, int(self.hparams.log_every_n_epochs))
        if logged and (epoch % every == 0 or self.trainer.should_stop):
            train_present = (self.train_support > 0).float()
            table = {
                "train/loss": loss_sum / data.n_train.float(),
                "train/accuracy": hits.sum(1) / data.n_train.float(),
                "train/balanced_accuracy": (hits / self.train_support.clamp_min(1) * train_present).sum(1)
                / train_present.sum(1).clamp_min(1),
                **values,
                **{f"val/acc_{c}": val["recall"][:, i] for i, c in enumerate(self.class_names)},
            }
            names = list(table)
            rows = torch.stack([table[n] for n in names], dim=1).cpu().tolist()
            for k, logger in enumerate(self.member_loggers):
                if logger is not None and not (self.stopped[k] and not newly[k]):
                    logger.log_metrics(dict(zip(names, rows[k])), step=epoch)

    def on_train_end(self) -> None:
        still = ~self.stopped  # ran to max_epochs: their last epoch is the one before current_epoch
        self.stop_epoch[still] = max(self.current_epoch - 1, 0)
        self.stopped[:] = True

    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's best weights as the state dict of its own `MLP`."""
        return self.net.member_state_dict(k, self.best_params)
