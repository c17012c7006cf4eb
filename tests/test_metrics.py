"""The stacked trainer's batched per-epoch metrics agree with metrics.json's (torchmetrics)."""

import numpy as np
import pytest
import torch

from xnet.evaluation.metrics import (
    classification_report,
    confusion_matrices,
    headline_from_confusion,
)


def test_batched_headline_metrics_match_the_classification_report():
    rng = np.random.default_rng(0)
    members, rows, n_classes = 3, 120, 4
    y = torch.as_tensor(rng.integers(0, n_classes, size=(members, rows)))
    y[1][y[1] == 3] = 2  # member 1 has no row of class 3: absent classes are left out of the means
    pred = torch.where(
        torch.as_tensor(rng.random((members, rows)) < 0.6),
        y,
        torch.as_tensor(rng.integers(0, n_classes, (members, rows))),
    )
    valid = torch.ones(members, rows, dtype=torch.bool)
    valid[2, 100:] = False  # padding rows of a shorter member do not count
    headline = headline_from_confusion(confusion_matrices(pred, y, valid, n_classes))
    for k in range(members):
        keep = valid[k].numpy()
        report = classification_report(y[k].numpy()[keep], pred[k].numpy()[keep], list("abcd"))
        for key in ("accuracy", "balanced_accuracy", "macro_f1"):
            assert float(headline[key][k]) == pytest.approx(report[key], abs=1e-6)
        recalls = [report["per_class"][c]["recall"] for c in "abcd"]
        np.testing.assert_allclose(headline["recall"][k].numpy(), recalls, atol=1e-6)
