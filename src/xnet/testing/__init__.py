"""Helpers for tests and benchmarks, not for production code: mock 4XMM-DR13 catalogs
(`mock_catalog`), the scikit-learn baseline with the study's settings (`baselines`) and synthetic
light curves (`lightcurves`)."""

from xnet.lazy import lazy_exports

_LAZY = {
    **dict.fromkeys(["slim_table", "full_table", "write_table"], "xnet.testing.mock_catalog"),
    "study_mlp": "xnet.testing.baselines",
    "synthetic_lightcurves": "xnet.testing.lightcurves.synthetic",
}

__all__ = list(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
