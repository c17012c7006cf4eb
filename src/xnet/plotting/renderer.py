"""A run's figures, rendered to PNG as they are submitted and written at the end (`Renderer`):
created by the run (`xnet.training.run.train_many`, one per job) and handed down with its job.
Nothing reaches the run directory or TensorBoard before `finish`, so a run that fails (`discard`)
leaves no figure of its own behind and no callback of it runs in the next run.

(Rendering in forked children on an idle core was measured not to pay on a quiet 2-core
machine, issue 24: the default run took 8 % longer with it, the 16,000-source CV 3 %; it went.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xnet.plotting.png import png_bytes


@dataclass
class Figure:
    """A submitted figure: its PNG, where it goes (`path`) and what receives it (`then`)."""

    path: Path | None
    then: Callable[[bytes], Any] | None
    png: bytes


class Renderer:
    """Renders each submitted figure at once (and closes it); `finish` writes each PNG to its
    path and hands its bytes to its callback, in submission order."""

    def __init__(self) -> None:
        self.pending: list[Figure] = []

    def submit(
        self, fig, path: str | Path | None = None, then=None, dpi: int = 110, tight: bool = True
    ) -> None:
        """Render `fig` (closed afterwards); at `finish`, write it to `path` (if any) and call
        `then(png)`."""
        path = Path(path) if path is not None else None
        self.pending.append(Figure(path, then, png_bytes(fig, dpi, tight)))

    def call(self, then: Callable[[], Any]) -> None:
        """Call `then()` at `finish`, after the callbacks submitted before it."""
        self.pending.append(Figure(None, lambda _: then(), b""))

    def discard(self) -> None:
        """Drop what was submitted and not finished (a run that failed): nothing is written and no
        callback runs, so nothing reaches the next run."""
        self.pending = []

    def finish(self) -> None:
        """Write every submitted figure and run every callback, in submission order."""
        pending, self.pending = self.pending, []
        for figure in pending:
            if figure.path is not None:
                figure.path.write_bytes(figure.png)
            if figure.then is not None:
                figure.then(figure.png)
