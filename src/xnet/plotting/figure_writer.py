"""Where a run's figures go: a PNG file in the run directory and, given a TensorBoard writer, the
same bytes as an image under `<prefix>/<name>`."""

from __future__ import annotations

from pathlib import Path

from xnet.plotting.png import add_png, save_png


class FigureWriter:
    """Saves each figure as `<name>.png` in `out_dir` and, with a writer, to TensorBoard; with a
    `renderer` (`xnet.plotting.renderer.Renderer`) the PNG is written when the renderer finishes."""

    def __init__(
        self,
        out_dir: Path,
        tb_writer=None,
        tb_prefix: str = "figures",
        dpi: int = 110,
        renderer=None,
    ):
        self.out_dir, self.tb_writer, self.tb_prefix, self.dpi = (
            Path(out_dir),
            tb_writer,
            tb_prefix,
            dpi,
        )
        self.renderer = renderer
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.written: dict[str, str] = {}

    def __call__(self, name: str, fig, tight: bool = True) -> None:
        path = self.out_dir / f"{name}.png"
        tag = f"{self.tb_prefix}/{name}"
        to_board = (
            (lambda png: add_png(self.tb_writer, tag, png)) if self.tb_writer is not None else None
        )
        if self.renderer is not None:
            self.renderer.submit(fig, path, to_board, self.dpi, tight)
        else:
            png = save_png(
                fig, path, self.dpi, tight
            )  # drawn once: the file and TensorBoard get the same bytes
            if to_board is not None:
                to_board(png)
        self.written[name] = path.name
