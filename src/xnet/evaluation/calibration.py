"""Probability calibration: temperature scaling (Guo et al. 2017), applied only where it earns
its place, and judged on the test part with the sampling noise of its measure.

One scalar T divides the logits; it changes no prediction (argmax is unchanged). T is fitted by
minimising the negative log-likelihood (NLL) of the network's validation split, the split early
stopping already used: xnet stops at the epoch of lowest validation loss, which leaves a network
close to calibrated, and a temperature refitted on the same ~10 % of the training part mostly fits
its noise (measured: docs/calibration.md). So T is *applied* only when a K-fold cross-fit within
the validation split, each row scored by a temperature fitted without it, lowers the NLL by more
than `min_gain_se` standard errors; otherwise the network keeps T = 1 and the run says so.

The test part judges the result: NLL and expected calibration error (ECE) before and after, with
the ECE bin counts and the ECE a perfectly calibrated model would show on that many sources from
sampling alone (`ece_noise`): below it, ECE cannot tell two calibrations apart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

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
    """The temperature that minimises the NLL of `logits` (raw network outputs)."""
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


def cross_fitted_gain(
    logits: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Per row: NLL at T = 1 minus NLL at the temperature fitted on the other folds' rows (positive:
    tempering helps a row it was not fitted on)."""
    logits, y = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    order = np.random.default_rng(seed).permutation(len(y))
    gain = np.zeros(len(y))
    for part in np.array_split(order, min(folds, len(y))):
        rest = np.setdiff1d(order, part)
        t = fit_temperature(logits[rest], y[rest])
        rows = np.arange(len(part))
        plain = log_softmax(logits[part], axis=1)[rows, y[part]]
        gain[part] = log_softmax(logits[part] / t, axis=1)[rows, y[part]] - plain
    return gain


@dataclass
class Temperature:
    """A network's calibration: the temperature fitted on its validation split, whether it was
    applied, and the cross-fitted NLL gain (mean and standard error per row) that decided it."""

    fitted: float
    applied: bool
    gain: float
    gain_se: float

    @property
    def value(self) -> float:
        return self.fitted if self.applied else 1.0


def choose_temperature(logits: np.ndarray, y: np.ndarray, min_gain_se: float) -> Temperature:
    """The temperature of `logits` (validation split, raw network outputs), applied only when its
    cross-fitted NLL gain exceeds `min_gain_se` standard errors."""
    logits, y = np.asarray(logits, dtype=float), np.asarray(y, dtype=int)
    fitted = fit_temperature(logits, y)
    if len(y) < 4:
        return Temperature(fitted, False, 0.0, 0.0)
    gain = cross_fitted_gain(logits, y)
    mean, se = float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain)))
    return Temperature(fitted, mean > min_gain_se * se and mean > 0, mean, se)


def calibrate(model, val_inputs, y_val, min_gain_se: float = 2.0) -> Temperature:
    """Choose the model's softmax temperature on its validation split (`choose_temperature`) and
    set it (1.0 when it is not applied)."""
    choice = choose_temperature(model.logits(val_inputs).numpy(), np.asarray(y_val), min_gain_se)
    model.temperature.fill_(choice.value)
    return choice


def ece_noise(probs: np.ndarray, n_bins: int = 15) -> float:
    """The ECE a perfectly calibrated model with these confidences would show on this many sources,
    from sampling alone: per bin, E|Binomial(n, c)/n - c| at the bin's mean confidence c, weighted
    by the bin's share of sources."""
    from scipy.stats import binom

    confidence = np.asarray(probs, dtype=float).max(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    total = 0.0
    for b in np.unique(which):
        n, c = int((which == b).sum()), float(confidence[which == b].mean())
        k = np.arange(n + 1)
        total += n * float((binom.pmf(k, n, c) * np.abs(k / n - c)).sum())
    return total / max(len(confidence), 1)


def probability_nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class under `probs` (floored at 1e-12)."""
    probs, y = np.asarray(probs, dtype=float), np.asarray(y, dtype=int)
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())


def calibration_summary(
    y_test: np.ndarray,
    raw: np.ndarray,
    calibrated: np.ndarray,
    temperatures: Sequence[float | Temperature],
    n_bins: int = 15,
) -> dict:
    """The `calibration` block of a split in metrics.json: the mean temperature its networks apply
    (and the mean fitted one, and how many apply it), the test NLL and ECE of the split's final
    probabilities before (every T = 1) and after, the ECE bins' counts and the sampling-noise level
    of ECE on this test part (`ece_noise`); `verdict` says in words what calibration did."""
    choices = [
        t if isinstance(t, Temperature) else Temperature(float(t), True, 0.0, 0.0)
        for t in temperatures
    ]
    block = {
        "temperature": float(np.mean([t.value for t in choices])),
        "temperature_fitted": float(np.mean([t.fitted for t in choices])),
        "networks_tempered": int(sum(t.applied for t in choices)),
        "networks": len(choices),
        "nll_test_before": probability_nll(raw, y_test),
        "nll_test_after": probability_nll(calibrated, y_test),
        "ece_test_before": expected_calibration_error(raw, y_test, n_bins),
        "ece_test_after": expected_calibration_error(calibrated, y_test, n_bins),
        "ece_noise": ece_noise(calibrated, n_bins),
        "ece_bin_counts": [int(c) for c in reliability_bins(calibrated, y_test, n_bins)["count"]],
        "n_test": int(len(y_test)),
        "n_bins": int(n_bins),
    }
    block["verdict"] = calibration_verdict(block)
    return block


def calibration_verdict(block: dict) -> str:
    """One sentence on what calibration did on the test part (log line and metrics.json)."""
    n, tempered = block["networks"], block["networks_tempered"]
    if tempered == 0:
        said = (
            f"no temperature applied (fitted T = {block['temperature_fitted']:.2f} did not "
            "lower the cross-fitted validation NLL significantly)"
        )
    else:
        change = "lowered" if block["nll_test_after"] < block["nll_test_before"] else "RAISED"
        said = (
            f"temperature {block['temperature']:.2f} applied ({tempered} of {n} networks); it "
            f"{change} the test NLL {block['nll_test_before']:.3f} -> {block['nll_test_after']:.3f}"
        )
    if max(block["ece_test_before"], block["ece_test_after"]) < 1.5 * block["ece_noise"]:
        said += (
            f"; test ECE {block['ece_test_after']:.3f} is at its sampling-noise level "
            f"({block['ece_noise']:.3f} for a perfectly calibrated model on {block['n_test']} "
            "sources): too few to tell calibrations apart"
        )
    return said


def summarize_calibration(blocks: Sequence[dict]) -> dict:
    """Mean over folds of the calibration numbers (for the CV `mean` block)."""
    keys = [k for k in blocks[0] if isinstance(blocks[0][k], float)]
    out = {k: float(np.mean([b[k] for b in blocks])) for k in keys}
    for key in ("networks_tempered", "networks"):
        if key in blocks[0]:
            out[key] = int(sum(b[key] for b in blocks))
    if "nll_test_before" in blocks[0]:
        out["folds_nll_raised"] = int(
            sum(
                b["networks_tempered"] > 0 and b["nll_test_after"] > b["nll_test_before"]
                for b in blocks
            )
        )
        out["folds_ece_raised"] = int(
            sum(b["ece_test_after"] > b["ece_test_before"] for b in blocks)
        )
    return out


def calibration_warnings(blocks: Sequence[dict], tags: Sequence[str]) -> list[str]:
    """One line per split whose applied temperature raised the test NLL (metrics.json `warnings`;
    also logged), from the splits' `calibration_summary` blocks: a temperature that did not help
    is not presented as an improvement."""
    out = []
    for cal, tag in zip(blocks, tags):
        if cal.get("networks_tempered") and cal["nll_test_after"] > cal["nll_test_before"]:
            out.append(f"calibration: {tag}: {cal['verdict']}")
    for line in out:
        log.warning(line)
    return out
