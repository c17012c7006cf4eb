"""The founding study's figures for one run, written as PNG files into the run directory and,
given a TensorBoard writer, as figures under `figures/`: the confusion matrix in counts and
row-normalised, and the data figures (`xnet.plotting.data_figures`, through the figure cache).
Calibration figures are `xnet.plotting.reliability`, the coverage figure `xnet.plotting.coverage`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xnet.data.labelled import LabelledSet
from xnet.data.splits import Split
from xnet.plotting.draw import confusion_matrix_figure
from xnet.plotting.figure_writer import FigureWriter

log = logging.getLogger(__name__)


def write_run_figures(
    run_dir: str | Path,
    data: LabelledSet,
    split: Split,
    confusion_matrix: Sequence[Sequence[int]] | np.ndarray | None = None,
    tb_writer=None,
    confusion_title: str = "test",
    cache: bool = True,
    renderer=None,
    board_data_figures: bool = True,
) -> dict[str, str]:
    """Every study figure for a run; returns {figure name: file name in run_dir}.

    The data figures (`write_data_figures`) come from the figure cache in the data home (drawn
    there once per data content, copied into the run) unless `cache` is false. `confusion_matrix`
    (rows true, columns predicted, `data.classes` order) is the run's test matrix (pooled
    out-of-fold under CV); None skips the two confusion figures. The confusion figures are written
    when `renderer` finishes (the caller finishes it; without one, here at once)."""
    from xnet.plotting.data_figures import write_data_figures
    from xnet.plotting.figure_cache import cached_data_figures

    run_dir = Path(run_dir)
    save = FigureWriter(run_dir, tb_writer, renderer=renderer)
    if confusion_matrix is not None:
        confusion_figures(save, np.asarray(confusion_matrix), data.classes, confusion_title)
    data_writer = tb_writer if board_data_figures else None  # a sweep shows them once
    if cache:
        save.written.update(cached_data_figures(run_dir, data, split, data_writer))
    else:
        save.written.update(write_data_figures(run_dir, data, split, data_writer))
    log.info("figures written to %s: %s", run_dir, ", ".join(sorted(save.written)))
    return save.written


def confusion_figures(
    save: FigureWriter, cm: np.ndarray, classes: Sequence[str], title: str
) -> None:
    """The confusion matrix in counts and row-normalised (fixed margins)."""
    save(
        "confusion_counts",
        confusion_matrix_figure(cm, classes, title=f"{title} confusion matrix (counts)"),
        tight=False,
    )
    save(
        "confusion_normalized",
        confusion_matrix_figure(
            cm, classes, title=f"{title} confusion matrix (row-normalised)", normalize=True
        ),
        tight=False,
    )
