"""Probability calibration: temperature scaling fitted on the validation split (Guo et al. 2017).

One scalar T divides the logits; it changes no prediction (argmax is unchanged) but makes the
probabilities mean what they say. T is fitted by minimising the validation negative
log-likelihood and judged by the expected calibration error (ECE) on the test part.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

log = logging.getLogger(__name__)

#: search range of log(T): T from 0.05 to 20 covers every sensible over- or under-confidence
LOG_T_BOUNDS = (-3.0, 3.0)


def negative_log_likelihood(logits: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean cross-entropy of the tempered softmax."""
    logp = log_softmax(np.asarray(logits, dtype=float) / float(temperature), axis=1)
    return float(-logp[np.arange(len(y)), np.asarray(y, dtype=int)].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the NLL of `logits` (validation split, raw network outputs)."""
    logits, y = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    if len(y) == 0:
        return 1.0
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, y, np.exp(log_t)),
        bounds=LOG_T_BOUNDS,
        method="bounded",
    )
    return float(np.exp(result.x))


def tempered_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=float) / float(temperature), axis=1)


def reliability_bins(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Top-label confidence in equal-width bins: mean confidence, accuracy and count per bin."""
    probs, y = np.asarray(probs, dtype=float), np.asarray(y, dtype=int)
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=n_bins) / count
    return {"edges": edges, "confidence": mean_conf, "accuracy": accuracy, "count": count}


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Count-weighted mean |accuracy - confidence| over equal-width confidence bins (top label)."""
    bins = reliability_bins(probs, y, n_bins)
    filled = bins["count"] > 0
    if not filled.any():
        return 0.0
    gap = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float((gap * bins["count"][filled]).sum() / bins["count"].sum())


def calibrate(model, val_inputs, y_val) -> float:
    """Fit the model's softmax temperature on its validation split (raw logits) and set it."""
    temperature = fit_temperature(model.logits(val_inputs).numpy(), np.asarray(y_val))
    model.temperature.fill_(temperature)
    return temperature


def calibration_summary(
    y_test: np.ndarray,
    raw: np.ndarray,
    calibrated: np.ndarray,
    temperatures: Sequence[float],
    n_bins: int = 15,
) -> dict:
    """The `calibration` block of a split in metrics.json: the mean temperature of its networks and
    the test ECE of their (averaged) probabilities before and after temperature scaling."""
    return {
        "temperature": float(np.mean(temperatures)),
        "ece_test_before": expected_calibration_error(raw, y_test, n_bins),
        "ece_test_after": expected_calibration_error(calibrated, y_test, n_bins),
        "n_bins": int(n_bins),
    }


def summarize_calibration(blocks: Sequence[dict]) -> dict:
    """Mean over folds of the calibration numbers (for the CV `mean` block)."""
    keys = [k for k in blocks[0] if isinstance(blocks[0][k], float)]
    return {k: float(np.mean([b[k] for b in blocks])) for k in keys}
