"""Figures (matplotlib, headless): `draw` draws one figure per function; `run_figures` decides
which of them a run writes and where; `reliability` draws calibration diagrams."""

from importlib import import_module

_LAZY = {
    "write_run_figures": "xnet.plotting.run_figures",
    "reliability_figure": "xnet.plotting.reliability",
    "confusion_matrix_figure": "xnet.plotting.draw",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xnet.plotting' has no attribute {name!r}")
