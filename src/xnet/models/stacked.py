"""`StackedClassifier`: the LightningModule that trains several members at once.

Members are the folds of a CV run, the networks of an ensemble, the jobs of a batched sweep: one
`StackedInputNet`, one optimizer step for all, each member with its own data, early stopping and
best weights. Lightning's per-step overhead dwarfs a 30-30 MLP's arithmetic, so one Lightning
training step is one whole epoch: the mini-batches (index batches into in-memory tensors) run
inside it under manual optimisation, and metrics are logged once per epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightning as L
import torch
import torch.nn.functional as F

from xnet.evaluation.metrics import confusion_matrices, headline_from_confusion
from xnet.models.compaction import retire, widen, with_passengers
from xnet.models.early_stopping import MemberEarlyStopping
from xnet.models.nets import StackedInputNet
from xnet.models.optim import optimizer_settings
from xnet.models.stacked_step import (
    FlatParameters,
    classes_first_logits,
    gather_rows,
    row_weights,
    train_epoch,
)


class StackedClassifier(L.LightningModule):
    """Trains M members (same depth and optimiser, their own width, dropout, seed and data).

    Data comes from a `StackedDataModule`; members must take the same number of batches per epoch
    (one Adam step count for all; `xnet.training.stacking.plan_stacks` sees to it). Per member and
    epoch: train loss / accuracy / balanced accuracy, validation loss / accuracy / balanced
    accuracy / macro-F1 / per-class accuracy, early stopping (`early_stopping`: monitor, mode,
    patience) and a snapshot of the best weights (in memory). A member that has stopped leaves
    the stack at the end of that epoch (`retire`, `xnet.models.compaction`): the rest train on
    without it, exactly as they would have next to it. With `retire=False` it keeps training with
    the rest (the reference), its snapshot no longer changing.
    """

    def __init__(
        self,
        n_features: int,
        class_names: Sequence[str],
        hiddens: Sequence[int],
        depth: int = 2,
        dropouts: Sequence[float] | None = None,
        seeds: Sequence[int] | None = None,
        optimizer: Mapping | None = None,
        early_stopping: Mapping | None = None,
        log_every_n_epochs: int = 1,
        encoders: Mapping | None = None,
        retire: bool = True,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.class_names = list(class_names)
        self.n_members = len(
            hiddens
        )  # members at construction; per-member results are indexed by these
        self.live = torch.arange(
            self.n_members
        )  # which of them are still in the live tensors (compaction)
        self.flat: FlatParameters | None = None  # parameters, gradients, Adam (on_fit_start)
        self.settings = dict(optimizer) if optimizer is not None else optimizer_settings()
        self.stopping = MemberEarlyStopping(self.n_members, **dict(early_stopping or {}))
        self.net = StackedInputNet(
            n_features,
            len(self.class_names),
            list(hiddens),
            depth,
            list(dropouts or []) or None,
            list(seeds or []) or None,
            encoders=encoders,
        )
        self.best_params: dict[
            str, torch.Tensor
        ] = {}  # snapshot per parameter, taken in on_fit_start
        self.member_loggers: list = [
            None
        ] * self.n_members  # TensorBoardLogger per member, set by the caller
        self._log_rows: list = []  # (epoch, members x scalars, written per member), see flush_logs
        self._log_names: list[str] = []
        self.progress = (
            None  # a live progress bar (xnet.training.progress.StackProgress), set by the caller
        )

    @property
    def best_epoch(self) -> torch.Tensor:
        return self.stopping.best_epoch

    @property
    def stop_epoch(self) -> torch.Tensor:
        return self.stopping.stop_epoch

    def configure_optimizers(self):
        """None: Adam runs on the flat parameters (`xnet.models.stacked_step.FlatParameters`,
        built in `on_fit_start` on the training device), one fused call per step."""
        return None

    def on_fit_start(self) -> None:
        data = self.trainer.datamodule
        data.to(self.device)
        n_classes = len(self.class_names)
        if self.settings["class_weighted"]:
            counts = data.class_counts.float().clamp_min(1)
            self.loss_weights = counts.sum(1, keepdim=True) / (n_classes * counts)
        else:
            self.loss_weights = torch.ones(self.n_members, n_classes, device=self.device)
        self.train_support = data.train_support.float()
        self.flat = FlatParameters(self.net, list(self.net.head.weights), self.settings)
        self.best_params = {name: p.detach().clone() for name, p in self.net.named_parameters()}

    def training_step(self, batch, batch_idx):
        """One epoch: every mini-batch step of every live member (`stacked_step.train_epoch`:
        scikit-learn's L2 penalty alpha/2 * ||W||^2 / batch on the weight matrices, not the
        biases, added to their gradients), then validation, early stopping and logging."""
        data = self.trainer.datamodule
        n_live, width = len(self.live), data.batch_size
        order, valid = data.epoch_order()
        if bool((valid.view(n_live, -1, width).sum(2) == 0).any()):
            raise RuntimeError(
                "stacked members need the same number of batches per epoch "
                "(see stacking.plan_stacks)"
            )
        inputs = {name: gather_rows(x, order) for name, x in data.train_inputs.items()}
        y = gather_rows(data.y_train, order)
        weighted = self.loss_weights if self.settings["class_weighted"] else None
        share = row_weights(valid, y, width, weighted)
        track = any(self.member_loggers)  # per-epoch train metrics only when someone logs them
        self.net.train()
        decay = self.settings["l2_alpha"] / width
        logits = train_epoch(self.net, self.flat, inputs, y, share, width, decay, track)
        hits = loss_sum = None
        if track:
            with torch.no_grad():
                ce = F.cross_entropy(logits, y, reduction="none")
                loss_sum = (ce * valid).sum(1)
                hits = torch.zeros(n_live, len(self.class_names), device=self.device)
                predicted = logits.max(1).indices  # argmax over a non-last dim is 6x slower
                hits.scatter_add_(1, y, ((predicted == y) & valid).float())
        self._end_epoch(data, hits, loss_sum)

    @torch.no_grad()
    def validation_metrics(self, data) -> dict[str, torch.Tensor]:
        """Per-member validation loss and, when logged or monitored, the confusion-matrix metrics
        (of the live members, see `live`)."""
        self.net.eval()
        logits = classes_first_logits(self.net, data.val_inputs)
        ce = F.cross_entropy(logits, data.y_val, reduction="none")
        w = torch.gather(self.loss_weights, 1, data.y_val) * data.val_mask
        values = {"val/loss": (ce * w).sum(1) / w.sum(1).clamp_min(1e-12)}
        if (
            any(self.member_loggers) or self.stopping.monitor != "val/loss"
        ):  # skip the confusion matrices when unused
            cm = confusion_matrices(
                logits.max(1).indices, data.y_val, data.val_mask, len(self.class_names)
            )
            val = headline_from_confusion(cm)
            values.update({f"val/{k}": v for k, v in val.items() if k != "recall"})
            values.update(
                {f"val/acc_{c}": val["recall"][:, i] for i, c in enumerate(self.class_names)}
            )
        return values

    @torch.no_grad()
    def _end_epoch(self, data, hits: torch.Tensor, loss_sum: torch.Tensor) -> None:
        epoch = self.current_epoch
        values = self.validation_metrics(data)
        monitored = widen(values[self.stopping.monitor], self.live, self.n_members)
        improved, newly = self.stopping.update(epoch, monitored)
        if improved.any():
            positions = improved[self.live].nonzero().flatten().to(self.device)
            members = self.live.to(self.device)[positions]
            for name, p in self.net.named_parameters():
                self.best_params[name][members] = p.detach()[positions]
        if self.stopping.all_stopped:
            self.trainer.should_stop = True
        if self.progress is not None:
            self.progress.update(self.stopping.stopped, self.stopping.best_score)
        every = max(1, int(self.hparams.log_every_n_epochs))
        if any(self.member_loggers) and (epoch % every == 0 or self.trainer.should_stop):
            self._log_epoch(epoch, data, hits, loss_sum, values, newly)
        if self.hparams.retire and newly.any() and not self.stopping.all_stopped:
            still = with_passengers(
                ~self.stopping.stopped[self.live], 2 if len(self.net.encoders) else 1
            )
            if not still.all():
                retire(self, still)

    def _log_epoch(
        self, epoch: int, data, hits, loss_sum, values: dict, newly: torch.Tensor
    ) -> None:
        """One row of scalars per member still training (or stopping now), kept in memory (on the
        device, no synchronisation) and written to each member's logger by `flush_logs` at the end
        of the fit: TensorBoard's per-scalar cost is paid once, in bulk, not every epoch."""
        train_present = (self.train_support > 0).float()
        table = {
            "train/loss": loss_sum / data.n_train.float(),
            "train/accuracy": hits.sum(1) / data.n_train.float(),
            "train/balanced_accuracy": (hits / self.train_support.clamp_min(1) * train_present).sum(
                1
            )
            / train_present.sum(1).clamp_min(1),
            **values,
        }
        self._log_names = list(table)
        writing = ~self.stopping.stopped | newly
        rows = widen(
            torch.stack([table[n] for n in self._log_names], dim=1), self.live, self.n_members
        )
        self._log_rows.append((epoch, rows, writing))

    def flush_logs(self) -> None:
        """Write the buffered per-epoch rows to the member loggers (same tags and steps as writing
        them every epoch)."""
        rows, self._log_rows = self._log_rows, []
        if not rows:
            return
        values = torch.stack([r for _, r, _ in rows]).cpu().tolist()
        writing = torch.stack([w for _, _, w in rows]).tolist()
        for k, logger in enumerate(self.member_loggers):
            if logger is None:
                continue
            for (epoch, _, _), table, write in zip(rows, values, writing):
                if write[k]:
                    logger.log_metrics(dict(zip(self._log_names, table[k])), step=epoch)

    def on_train_end(self) -> None:
        # members that ran to max_epochs: their last epoch is the one before current_epoch
        self.stopping.finish(self.current_epoch - 1)
        self.flush_logs()

    def member_state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's best weights as the state dict of its own single network."""
        return self.net.member_state_dict(k, self.best_params)
