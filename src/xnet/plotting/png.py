"""One render per figure: the PNG bytes go to the run directory and, unchanged, to TensorBoard.

`SummaryWriter.add_figure` draws a figure again and re-encodes it (through PIL, with a resize),
and `savefig(bbox_inches="tight")` draws it twice; a run's figures were paying three draws and two
encodings each. Here a figure is drawn and encoded once (`png_bytes`) and TensorBoard receives the
same bytes as an image summary (`add_png`), under the same tag as `add_figure` would use.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path


def png_bytes(fig, dpi: int = 110, tight: bool = True) -> bytes:
    """The figure as PNG, then closed. `tight` crops to the drawn artists (one extra layout pass);
    figures whose layout is already fixed (`subplots_adjust`, `tight_layout`) can skip it."""
    from xnet.plotting.draw import plt

    buffer = io.BytesIO()
    try:
        engine = fig.get_layout_engine()
        if tight and engine is not None and type(engine).__name__ == "TightLayoutEngine":
            engine.execute(
                fig
            )  # lay out once, not again in each of the two draws a tight bbox makes
            fig.set_layout_engine("none")
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_png(fig, path: str | Path, dpi: int = 110, tight: bool = True) -> bytes:
    """Write the figure to `path` as PNG (closing it); returns the bytes for TensorBoard."""
    png = png_bytes(fig, dpi, tight)
    Path(path).write_bytes(png)
    return png


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def add_png(writer, tag: str, png: bytes, step: int = 0) -> None:
    """Add PNG bytes to a `SummaryWriter` as an image summary (what `add_image`/`add_figure` write,
    without decoding and re-encoding)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    width, height = png_size(png)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(
        png[25], 4
    )  # IHDR colour type: grey, RGB, grey+alpha, RGBA
    image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
    writer._get_file_writer().add_summary(
        Summary(value=[Summary.Value(tag=tag, image=image)]), step
    )


class Renderer:
    """Renders figures to PNG on the idle cores: a figure submitted while a core is free is
    rendered by a forked child (which inherits the drawn figure; nothing is pickled) and the
    caller goes on drawing the next one; otherwise it is rendered here, at once. `finish` waits
    for the children, then writes each PNG to its path and hands its bytes to its callback, in
    submission order. A child that fails is made up for here."""

    def __init__(self) -> None:
        self.pending: list[
            tuple
        ] = []  # (figure, dpi, tight, path, then, child or None, bytes or None)
        self.folder = None

    def submit(
        self, fig, path: str | Path | None = None, then=None, dpi: int = 110, tight: bool = True
    ) -> None:
        """Render `fig` (closed afterwards), write it to `path` (if any) and call `then(png)`."""
        from xnet.runtime.cores import can_fork, idle_cores

        if can_fork() and idle_cores() > 0:
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

            plt.close(
                fig
            )  # out of pyplot's registry; the object stays drawable should the child fail
            self.pending.append((fig, dpi, tight, path, then, (child, target), None))
        else:
            self.pending.append((None, dpi, tight, path, then, None, png_bytes(fig, dpi, tight)))

    def call(self, then) -> None:
        """Call `then()` at `finish`, after the callbacks submitted before it."""
        self.pending.append((None, 0, False, None, lambda _: then(), None, b""))

    def discard(self) -> None:
        """Drop what was submitted and not finished (a run that failed): its children are waited
        for, nothing is written, no callback runs, so nothing reaches the next run."""
        pending, self.pending = self.pending, []
        for *_, child, _ in pending:
            if child is not None:
                child[0].join()
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None

    def finish(self) -> None:
        pending, self.pending = self.pending, []
        for fig, dpi, tight, path, then, child, png in pending:
            if child is not None:
                process, target = child
                process.join()
                png = (
                    target.read_bytes()
                    if process.exitcode == 0 and target.exists()
                    else png_bytes(fig, dpi, tight)
                )
            if path is not None:
                Path(path).write_bytes(png)
            if then is not None:
                then(png)
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None


def _render_to(fig, dpi: int, tight: bool, target: Path) -> None:
    """A child's work: the PNG of its inherited figure, written whole or not at all."""
    png = png_bytes(fig, dpi, tight)
    part = target.with_suffix(".part")
    part.write_bytes(png)
    part.rename(target)


#: the run's renderer: figures are submitted while a run evaluates and finished with its metrics
RENDERER = Renderer()
