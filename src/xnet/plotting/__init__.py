"""Figures (matplotlib, headless): `draw` draws one figure per function; `run_figures` decides
which of them a run writes and where (`data_figures` the data's, through `figure_cache`);
`reliability` draws calibration diagrams, `coverage` the coverage curve."""

from xnet.lazy import lazy_exports

_LAZY = {
    "write_run_figures": "xnet.plotting.run_figures",
    "reliability_figure": "xnet.plotting.reliability",
    "confusion_matrix_figure": "xnet.plotting.draw",
}

__all__ = list(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
