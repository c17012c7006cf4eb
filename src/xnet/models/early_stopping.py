"""Early stopping per member of a stack: each member stops on its own validation score."""

from __future__ import annotations

import math

import torch

from xnet.config.rules import MONITORS  # what early stopping may monitor (the one table)
from xnet.errors import XnetError


class MemberEarlyStopping:
    """Best score, best epoch and patience counter per member; a stopped member's best no longer
    changes, so its result is the one a separate fit with the same rule would give.

    Any improvement updates the best weights; only one by more than `min_delta` resets the patience
    counter (scikit-learn's `tol` rule: `early_stopping=study` monitors validation accuracy with
    min_delta 1e-4, as `MLPClassifier(early_stopping=True)` does)."""

    def __init__(
        self,
        n_members: int,
        monitor: str = "val/loss",
        mode: str = "min",
        patience: int = 60,
        min_delta: float = 0.0,
    ):
        if monitor not in MONITORS:
            raise XnetError(
                f"early_stopping.monitor={monitor!r} is not one of {', '.join(MONITORS)}"
            )
        if mode not in ("min", "max"):
            raise XnetError(f"early_stopping.mode={mode!r} is not 'min' or 'max'")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.sign = 1.0 if mode == "min" else -1.0
        self.best_score = torch.full(
            (n_members,), math.inf, dtype=torch.float64
        )  # sign * monitored value
        self.best_epoch = torch.zeros(n_members, dtype=torch.long)
        self.wait = torch.zeros(n_members, dtype=torch.long)
        self.stopped = torch.zeros(n_members, dtype=torch.bool)
        self.stop_epoch = torch.zeros(n_members, dtype=torch.long)

    def update(self, epoch: int, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch's monitored values (per member): which members improved (take a snapshot)
        and which stopped just now."""
        score = (
            self.sign * values.detach().cpu().double()
        )  # the min_delta comparison in float64, as scikit-learn's
        active = ~self.stopped
        improved = active & torch.isfinite(score) & (score < self.best_score)
        enough = improved & (
            score <= self.best_score - self.min_delta
        )  # min_delta 0: every improvement
        self.best_score[improved] = score[improved]
        self.best_epoch[improved] = epoch
        self.wait[enough] = 0
        self.wait[active & ~enough] += 1
        newly = active & ((self.wait >= self.patience) | ~torch.isfinite(score))
        self.stopped |= newly
        self.stop_epoch[newly] = epoch
        return improved, newly

    @property
    def all_stopped(self) -> bool:
        return bool(self.stopped.all())

    def finish(self, last_epoch: int) -> None:
        """Members that ran to the epoch limit stop at its last epoch."""
        still = ~self.stopped
        self.stop_epoch[still] = max(last_epoch, 0)
        self.stopped[:] = True
