"""Prediction: classify whole catalogs with a trained run (`python -m xnet.predict`)."""

from xnet.lazy import lazy_exports

# loaded on first use: `python -m xnet.predict --help` imports neither pandas nor pyarrow
__getattr__ = lazy_exports(
    __name__,
    {
        "main": "xnet.predict.job",
        "predict": "xnet.predict.job",
        "probability_column": "xnet.predict.columns",
    },
)

__all__ = ["main", "predict", "probability_column"]
