"""Inner validation: the score configurations are chosen on, never the outer test folds.

Each network of an ensemble holds out its own stratified validation rows of the outer training
part (`xnet.data.splits.ensemble_splits`). A training row's out-of-bag prediction is the mean
calibrated probability of the networks that did not train on it, decided with the run's rule.
Over the ensemble most training rows are out of bag for at least one network, so this is a
cross-validation-like estimate computed from the outer training part alone. It is slightly
optimistic in absolute terms (each network's temperature and early stopping saw its validation
rows) but the same for every configuration, which is what a choice needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xnet.evaluation.coverage import OPERATING_POINT, at_coverage, confidence_scores, coverage_curve
from xnet.evaluation.metrics import HEADLINE, classification_report


def pooled_out_of_bag(
    results: Sequence, n_classes: int
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The split's out-of-bag rows (sorted), each row's probabilities averaged over the networks
    that validated on it, and its true class."""
    total: dict[int, np.ndarray] = {}
    count: dict[int, int] = {}
    truth: dict[int, int] = {}
    for r in results:
        for row, p, t in zip(r.member.split.val, r.proba["val"], r.truth["val"]):
            row = int(row)
            total[row] = total.get(row, np.zeros(n_classes)) + p
            count[row] = count.get(row, 0) + 1
            truth[row] = int(t)
    rows = sorted(total)
    proba = np.stack([total[r] / count[r] for r in rows])
    return rows, proba, np.array([truth[r] for r in rows])


def out_of_bag_report(results: Sequence, classes: Sequence[str], trees=None) -> dict:
    """One outer split's out-of-bag report from its networks' results (`MemberResult`s of
    `xnet.training.evaluation`: member, model, proba['val'], truth['val']); with a tree member
    (`xnet.models.trees`) its cross-fitted probabilities are blended in as on the test part."""
    rows, proba, y = pooled_out_of_bag(results, len(classes))
    if trees is not None:
        proba = trees.blend_oob(rows, proba)
    model = results[0].model
    pred = model.decide(proba)
    report = classification_report(y, pred, classes)
    at_81 = {}  # the coverage operating point per confidence measure, to choose the measure on
    for kind in ("probability", "decision"):
        confidence = confidence_scores(
            proba, pred, kind=kind, prior=model.class_prior, prior_power=float(model.prior_power)
        )
        point = at_coverage(
            coverage_curve(y, pred, confidence, classes, coverages=(OPERATING_POINT,))
        )
        at_81[kind] = {k: point[k] for k in HEADLINE}
    return {
        "n_rows": len(rows),
        **{k: report[k] for k in HEADLINE},
        "recall": {c: v["recall"] for c, v in report["per_class"].items()},
        "at_81": at_81,
    }


def summarize(reports: Sequence[dict]) -> dict:
    """Mean and std over outer splits of the out-of-bag headline metrics (metrics.json's
    `inner_validation` block)."""
    out = {"n_rows_mean": float(np.mean([r["n_rows"] for r in reports]))}
    for key in HEADLINE:
        values = np.array([r[key] for r in reports])
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    out["recall"] = {
        c: float(np.mean([r["recall"][c] for r in reports])) for c in reports[0]["recall"]
    }
    out["at_81"] = {
        kind: {k: float(np.mean([r["at_81"][kind][k] for r in reports])) for k in HEADLINE}
        for kind in reports[0]["at_81"]
    }
    out["splits"] = list(reports)
    return out
