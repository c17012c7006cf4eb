"""Selective classification: how good the predictions are when only the most confident are kept.

Astronomers cut a classified catalog at a confidence threshold and keep, say, 81 % of the sources
(the share of MUWCLASS's "confident" subset, Yang et al. 2022). `coverage_curve` ranks sources by
a confidence score, keeps the top fraction and reports accuracy, balanced accuracy and macro-F1 of
what is kept, with the confidence threshold that achieves that coverage (so that `xnet.predict`'s
`confidence` column can be cut at it).

Confidence measures (`confidence_scores`):
- `probability`: the calibrated (ensemble-mean) probability of the predicted class;
- `decision`: the probability of the predicted class after the run's prior adjustment
  (p / prior^prior_power, renormalised): the posterior the decision rule maximises, under which a
  rare class is not ranked last merely for being rare;
- `lower_bound`: the calibrated probability minus the spread (std) of the ensemble's networks for
  that class, MUWCLASS's idea that a prediction the networks disagree on is less certain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xnet.config.rules import CONFIDENCE_KINDS
from xnet.evaluation.metrics import HEADLINE, classification_report

#: coverage levels reported: every 10 %, and MUWCLASS's confident-subset share
COVERAGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.81, 0.9, 1.0)
OPERATING_POINT = 0.81

#: MUWCLASS's confident subset (81 % of its updated training set, leave-one-out; its repository)
MUWCLASS_CONFIDENT = {
    "coverage": 0.81,
    "accuracy": 0.970,
    "balanced_accuracy": 0.790,
    "macro_f1": 0.795,
}


def confidence_scores(
    proba: np.ndarray,
    pred: np.ndarray,
    member_proba: np.ndarray | None = None,
    kind: str = "probability",
    prior=None,
    prior_power: float = 0.0,
) -> np.ndarray:
    """Confidence of each prediction. `proba`: (n, classes) mean probabilities; `pred`: predicted
    class indices; `member_proba`: (members, n, classes), for `lower_bound` (with one member the
    spread is zero); `prior`, `prior_power`: the decision rule's, for `decision`."""
    proba, pred = np.asarray(proba, dtype=float), np.asarray(pred, dtype=int)
    rows = np.arange(len(pred))
    chosen = proba[rows, pred]
    if kind == "probability":
        return chosen
    if kind == "decision":
        if prior is None or not prior_power:
            return chosen
        with np.errstate(divide="ignore", invalid="ignore"):
            adjusted = proba / np.asarray(prior, dtype=float) ** float(prior_power)
            return adjusted[rows, pred] / adjusted.sum(axis=1)
    if kind == "lower_bound":
        if member_proba is None or len(member_proba) < 2:
            return chosen
        spread = np.asarray(member_proba, dtype=float)[:, rows, pred].std(axis=0)
        return chosen - spread
    raise ValueError(f"confidence kind {kind!r} is not one of {', '.join(CONFIDENCE_KINDS)}")


def kept_rows(confidence: np.ndarray, coverage: float) -> np.ndarray:
    """Indices of the round(coverage * n) most confident rows (at least one); ties keep input
    order."""
    confidence = np.asarray(confidence, dtype=float)
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage {coverage} is not in (0, 1]")
    n_keep = max(1, int(round(coverage * len(confidence))))
    order = np.argsort(-confidence, kind="stable")
    return np.sort(order[:n_keep])


def coverage_curve(
    y_true: np.ndarray,
    pred: np.ndarray,
    confidence: np.ndarray,
    classes: Sequence[str],
    coverages: Sequence[float] = COVERAGES,
) -> list[dict]:
    """Per coverage: how many sources are kept, the confidence threshold (lowest kept), accuracy,
    balanced accuracy, macro-F1 and per-class recall of the kept sources (classes present there)."""
    y_true, pred, confidence = (
        np.asarray(y_true),
        np.asarray(pred),
        np.asarray(confidence, dtype=float),
    )
    if not len(y_true) == len(pred) == len(confidence):
        raise ValueError("y_true, pred and confidence differ in length")
    curve = []
    for c in coverages:
        keep = kept_rows(confidence, float(c))
        report = classification_report(y_true[keep], pred[keep], classes)
        curve.append(
            {
                "coverage": float(c),
                "n_kept": int(len(keep)),
                "threshold": float(confidence[keep].min()),
                **{k: report[k] for k in HEADLINE},
                "recall": {
                    cls: v["recall"] for cls, v in report["per_class"].items() if v["support"] > 0
                },
            }
        )
    return curve


def at_coverage(curve: list[dict], coverage: float = OPERATING_POINT) -> dict:
    return next(point for point in curve if abs(point["coverage"] - coverage) < 1e-9)


def coverage_block(
    splits: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], classes: Sequence[str], kind: str
) -> dict:
    """metrics.json's `coverage` block from the splits' test predictions ((y_true, y_pred,
    confidence) per split): the curve of the pooled out-of-fold predictions, the per-split curves'
    mean and std of the headline metrics, and the operating point next to MUWCLASS's confident
    subset."""
    pooled = coverage_curve(*(np.concatenate(part) for part in zip(*splits)), classes)
    block = {
        "confidence": kind,
        "curve": pooled,
        "operating_point": at_coverage(pooled),
        "muwclass_confident": MUWCLASS_CONFIDENT,
    }
    if len(splits) > 1:
        per_split = [coverage_curve(*split, classes) for split in splits]
        summary = []
        for i, c in enumerate(COVERAGES):
            point = {"coverage": c}
            for key in HEADLINE:
                values = np.array([curve[i][key] for curve in per_split])
                point[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
            summary.append(point)
        block["per_fold"] = summary
        block["operating_point_per_fold"] = at_coverage(summary)
    return block
