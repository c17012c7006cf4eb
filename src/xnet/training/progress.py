"""Live progress of a training stack on the terminal (tqdm): epochs, members still training and
the best validation score so far. Quiet when stderr is not a terminal (logs, CI, sweeps piped to
files) unless `progress=true`; `progress=false` silences it everywhere."""

from __future__ import annotations

import sys


class StackProgress:
    """One bar per stack, updated once per epoch by `StackedClassifier._end_epoch`."""

    def __init__(self, setting, max_epochs: int, n_members: int, monitor: str, mode: str):
        setting = {"auto": "auto", True: True, False: False}.get(setting, str(setting).lower())
        enabled = sys.stderr.isatty() if setting == "auto" else setting in (True, "true")
        self.bar = None
        self.n_members, self.monitor, self.mode = n_members, monitor, mode
        self.best = ""
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=max_epochs,
                unit=" epoch",
                desc=f"xnet.train ({n_members} network{'s' if n_members != 1 else ''})",
                dynamic_ncols=True,
            )

    def update(self, stopped, best_score) -> None:
        """After an epoch: `stopped` (bool per member) and the per-member best of the monitor
        (sign-adjusted: lower is better)."""
        if self.bar is None:
            return
        best = float(best_score.min())
        value = best if self.mode == "min" else -best
        self.best = f"best {self.monitor} {value:.4f}"
        training = self.n_members - int(stopped.sum())
        self.bar.set_postfix_str(f"training {training}/{self.n_members}, {self.best}")
        self.bar.update(1)

    def finish(self) -> None:
        """The fit ended: a stack that early-stopped before `max_epochs` ends at 100 % and says
        so (not a bar left at 33 %, which reads as an abort)."""
        bar = self.bar
        if bar is not None and bar.n < bar.total:
            bar.total = bar.n
            bar.set_postfix_str(f"stopped early at epoch {bar.n}, {self.best}", refresh=False)
            bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
