"""Prediction: classify whole catalogs with a trained run (`python -m xnet.predict`)."""

from xnet.predict.job import main, predict, probability_column

__all__ = ["main", "predict", "probability_column"]
