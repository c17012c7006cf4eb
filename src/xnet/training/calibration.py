"""Probability calibration: temperature scaling fitted on the validation split (Guo et al. 2017).

One scalar T divides the logits; it changes no prediction (argmax is unchanged) but makes the
probabilities mean what they say. T is fitted by minimising the validation negative
log-likelihood and judged by the expected calibration error (ECE) on the test part.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

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
        lambda log_t: negative_log_likelihood(logits, y, np.exp(log_t)), bounds=LOG_T_BOUNDS, method="bounded"
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


def reliability_figure(
    y: np.ndarray,
    probs_before: np.ndarray,
    probs_after: np.ndarray,
    temperature: float,
    n_bins: int = 15,
    title: str = "",
):
    """Reliability diagram (accuracy against confidence) before and after temperature scaling,
    with the share of sources in each confidence bin underneath."""
    from xnet.plotting.draw import plt

    fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.2, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="perfect calibration")
    for probs, name, colour, marker in (
        (probs_before, "before (T = 1)", "tab:red", "o"),
        (probs_after, f"after (T = {temperature:.2f})", "tab:blue", "s"),
    ):
        bins = reliability_bins(probs, y, n_bins)
        filled = bins["count"] > 0
        ece = expected_calibration_error(probs, y, n_bins)
        ax.plot(bins["confidence"][filled], bins["accuracy"][filled], marker=marker, color=colour,
                label=f"{name}: ECE {ece:.3f}")
        centres = (bins["edges"][:-1] + bins["edges"][1:]) / 2
        width = (bins["edges"][1] - bins["edges"][0]) / 2.2
        offset = -width / 2 if colour == "tab:red" else width / 2
        hist.bar(centres + offset, bins["count"] / max(bins["count"].sum(), 1), width=width, color=colour, alpha=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy in bin")
    ax.set_title(title or "reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    hist.set_xlabel("confidence (top-class probability)")
    hist.set_ylabel("share of sources")
    fig.tight_layout()
    return fig


def calibrate_split(
    logits_val: np.ndarray,
    y_val: np.ndarray,
    logits_test: np.ndarray,
    y_test: np.ndarray,
    out_dir: str | Path,
    tag: str,
    tb_writer=None,
    n_bins: int = 15,
) -> dict:
    """Fit T on the validation logits, measure ECE and NLL on validation and test before and after,
    write `reliability_<tag>.png` (test part) into `out_dir` and, given a TensorBoard writer, the
    same figure under `calibration/reliability_<tag>`.

    Returns the numbers for metrics.json plus the calibrated test probabilities (`proba_test`,
    not JSON: pop it before writing)."""
    from xnet.plotting.draw import plt

    logits_val, logits_test = np.asarray(logits_val, dtype=float), np.asarray(logits_test, dtype=float)
    temperature = fit_temperature(logits_val, y_val)
    before_val, after_val = tempered_probabilities(logits_val), tempered_probabilities(logits_val, temperature)
    before_test, after_test = tempered_probabilities(logits_test), tempered_probabilities(logits_test, temperature)
    result = {
        "temperature": temperature,
        "ece_val_before": expected_calibration_error(before_val, y_val, n_bins),
        "ece_val_after": expected_calibration_error(after_val, y_val, n_bins),
        "ece_test_before": expected_calibration_error(before_test, y_test, n_bins),
        "ece_test_after": expected_calibration_error(after_test, y_test, n_bins),
        "nll_test_before": negative_log_likelihood(logits_test, y_test),
        "nll_test_after": negative_log_likelihood(logits_test, y_test, temperature),
        "n_bins": int(n_bins),
    }
    fig = reliability_figure(
        y_test, before_test, after_test, temperature, n_bins, title=f"{tag}: test part, T fitted on validation"
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"reliability_{tag}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    if tb_writer is not None:
        tb_writer.add_figure(f"calibration/reliability_{tag}", fig)
    plt.close(fig)
    result["figure"] = path.name
    log.info(
        "%s: temperature %.3f, test ECE %.3f -> %.3f", tag, temperature, result["ece_test_before"], result["ece_test_after"]
    )
    return {**result, "proba_test": after_test}


def summarize_calibration(blocks: Sequence[dict]) -> dict:
    """Mean over folds of the calibration numbers (for the CV `mean` block)."""
    keys = [k for k in blocks[0] if isinstance(blocks[0][k], float)]
    return {k: float(np.mean([b[k] for b in blocks])) for k in keys}
