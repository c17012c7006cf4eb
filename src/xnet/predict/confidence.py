"""The `confidence` column of `xnet.predict`: the score metrics.json's coverage curve ranks by,
for a loaded run."""

from __future__ import annotations

import numpy as np

from xnet.evaluation.coverage import confidence_scores


def run_confidence(run, proba: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """`confidence_scores` for a loaded run (`xnet.predict.trained_run.TrainedRun`): its measure,
    its decision's prior (averaged over its models, as `TrainedRun.decide`) and prior power;
    members' spread is not kept at prediction time, so `lower_bound` falls back to the probability
    there."""
    kind = run.confidence if run.confidence != "lower_bound" else "probability"
    return confidence_scores(
        proba, pred, kind=kind, prior=run.class_prior, prior_power=float(run.prior_power or 0.0)
    )
