"""The decision rule from class probabilities (torch-free: prediction uses it without torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def decide(
    proba, class_prior: Sequence[float] | None = None, prior_power: float = 0.0
) -> np.ndarray:
    """Predicted class indices from (calibrated, possibly averaged) probabilities: argmax over
    classes of log p - prior_power * log(training class share). With prior_power 0 this is the
    plain argmax; towards 1 it trades accuracy on common classes for recall on rare ones."""
    proba = (
        proba.numpy() if hasattr(proba, "numpy") else np.asarray(proba)
    )  # a torch tensor, without importing torch
    if not prior_power or class_prior is None:
        return proba.argmax(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            np.log(proba) - float(prior_power) * np.log(np.asarray(class_prior, dtype=float))
        ).argmax(axis=1)
