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
            engine.execute(fig)  # lay out once, not again in each of the two draws a tight bbox
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


def add_summary(writer, summary, step: int | None = None) -> None:
    """Write a protobuf `Summary` through a `SummaryWriter`'s public `file_writer`, or, once the
    writer is closed (a Lightning logger its Trainer finalised), into a new event file beside it."""
    if writer.file_writer is not None:  # the writer's open event file (public; None once closed)
        writer.file_writer.add_summary(summary, step)
        return
    from torch.utils.tensorboard.writer import FileWriter

    late = FileWriter(writer.get_logdir())
    try:
        late.add_summary(summary, step)
    finally:
        late.close()


def add_png(writer, tag: str, png: bytes, step: int = 0) -> None:
    """Add PNG bytes to a `SummaryWriter` as an image summary (what `add_image`/`add_figure` write,
    without decoding and re-encoding)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    width, height = png_size(png)
    # IHDR colour type: grey, RGB, grey+alpha, RGBA
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(png[25], 4)
    image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
    summary = Summary(value=[Summary.Value(tag=tag, image=image)])
    add_summary(writer, summary, step)
