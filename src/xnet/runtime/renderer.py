"""A run's figures rendered to PNG on the idle cores (`Renderer`), created by the run
(`xnet.training.run.train_many`, one per job) and handed down with its job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xnet.plotting.png import png_bytes
from xnet.runtime import switch


@dataclass
class Figure:
    """A submitted figure: where its PNG goes (`path`, `then(png)`), and either its bytes
    (rendered here) or the child rendering it into `target` (with the figure kept drawable, should
    the child fail)."""

    path: Path | None
    then: Callable[[bytes], Any] | None
    png: bytes | None = None
    fig: Any = None
    dpi: int = 110
    tight: bool = True
    child: Any = None
    target: Path | None = None

    def rendered(self) -> bytes:
        """The PNG: rendered here, else the child's (waited for), else rendered here after all."""
        if self.child is not None:
            self.child.join()
            if self.child.exitcode == 0 and self.target.exists():
                return self.target.read_bytes()
            return png_bytes(self.fig, self.dpi, self.tight)
        return self.png


class Renderer:
    """Renders figures to PNG on the idle cores: a figure submitted while a core is free (and the
    `renderer` piece is on, `xnet.runtime.switch`) is rendered by a forked child (which inherits
    the drawn figure; nothing is pickled) and the caller goes on drawing the next one; otherwise it
    is rendered here, at once. `finish` waits for the children, then writes each PNG to its path
    and hands its bytes to its callback, in submission order. A child that fails is made up for
    here."""

    def __init__(self) -> None:
        self.pending: list[Figure] = []
        self.folder = None

    def submit(
        self, fig, path: str | Path | None = None, then=None, dpi: int = 110, tight: bool = True
    ) -> None:
        """Render `fig` (closed afterwards), write it to `path` (if any) and call `then(png)`."""
        from xnet.runtime.cores import can_fork, idle_cores

        path = Path(path) if path is not None else None
        if not (switch.on("renderer") and can_fork() and idle_cores() > 0):
            self.pending.append(Figure(path, then, png=png_bytes(fig, dpi, tight)))
            return
        import multiprocessing
        import tempfile

        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory(prefix="xnet-figures-")
        target = Path(self.folder.name) / f"{len(self.pending)}.png"
        child = multiprocessing.get_context("fork").Process(
            target=_render_to, args=(fig, dpi, tight, target), daemon=True
        )
        child.start()
        from xnet.plotting.draw import plt

        plt.close(fig)  # out of pyplot's registry; the object stays drawable should the child fail
        self.pending.append(Figure(path, then, None, fig, dpi, tight, child, target))

    def call(self, then: Callable[[], Any]) -> None:
        """Call `then()` at `finish`, after the callbacks submitted before it."""
        self.pending.append(Figure(None, lambda _: then(), png=b""))

    def discard(self) -> None:
        """Drop what was submitted and not finished (a run that failed): its children are waited
        for, nothing is written, no callback runs, so nothing reaches the next run."""
        pending, self.pending = self.pending, []
        for figure in pending:
            if figure.child is not None:
                figure.child.join()
        self._cleanup()

    def finish(self) -> None:
        """Write every submitted figure and run every callback, in submission order."""
        pending, self.pending = self.pending, []
        for figure in pending:
            png = figure.rendered()
            if figure.path is not None:
                figure.path.write_bytes(png)
            if figure.then is not None:
                figure.then(png)
        self._cleanup()

    def _cleanup(self) -> None:
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None


def _render_to(fig, dpi: int, tight: bool, target: Path) -> None:
    """A child's work: the PNG of its inherited figure, written whole or not at all."""
    png = png_bytes(fig, dpi, tight)
    part = target.with_suffix(".part")
    part.write_bytes(png)
    part.rename(target)
