"""Helpers for tests and benchmarks, not for production code: mock 4XMM-DR13 catalogs
(`mock_catalog`), the scikit-learn baseline with the study's settings (`baselines`) and synthetic
light curves (`lightcurves`)."""

from importlib import import_module

_LAZY = {
    "slim_table": "xnet.testing.mock_catalog",
    "full_table": "xnet.testing.mock_catalog",
    "write_table": "xnet.testing.mock_catalog",
    "study_mlp": "xnet.testing.baselines",
    "synthetic_lightcurves": "xnet.testing.lightcurves",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xnet.testing' has no attribute {name!r}")
