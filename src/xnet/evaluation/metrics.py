"""Classification metrics as plain dicts (metrics.json), computed with torchmetrics.

Balanced accuracy is the macro-averaged recall; validation and test keep their natural class mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where a function needs it: `xnet.train --help` stays light
    import torch

HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1")
#: the headline metrics in words (logs, TensorBoard)
HEADLINE_NAMES = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro-F1",
}


def ranked(first: str) -> list[str]:
    """The headline metrics with the sweep's ranking metric (`optimized_metric`) first."""
    return [first, *(k for k in HEADLINE if k != first)]


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """The metrics block of metrics.json: headline numbers, per-class table, confusion matrix."""
    import torch

    # imported here: prediction rarely needs it
    from torchmetrics.functional.classification import (
        multiclass_confusion_matrix,
        multiclass_f1_score,
        multiclass_precision,
        multiclass_recall,
    )

    n = len(classes)
    t = torch.as_tensor(np.asarray(y_true), dtype=torch.long)
    p = torch.as_tensor(np.asarray(y_pred), dtype=torch.long)
    precision = multiclass_precision(p, t, n, average=None, zero_division=0)
    recall = multiclass_recall(p, t, n, average=None, zero_division=0)
    f1 = multiclass_f1_score(p, t, n, average=None, zero_division=0)
    cm = multiclass_confusion_matrix(p, t, n)
    support = cm.sum(dim=1)
    present = support > 0  # a class absent from this test part has no recall to average
    return {
        "accuracy": float((p == t).float().mean()),
        "balanced_accuracy": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
        "per_class": {
            c: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion_matrix": cm.tolist(),
    }


def summarize_folds(blocks: Sequence[dict]) -> tuple[dict, dict]:
    """Mean and standard deviation over folds of the headline metrics and per-class recall."""
    mean, std = {}, {}
    for key in HEADLINE:
        values = np.array([b[key] for b in blocks], dtype=float)
        mean[key], std[key] = (
            float(values.mean()),
            float(values.std(ddof=1) if len(values) > 1 else 0.0),
        )
    classes = list(blocks[0]["per_class"])
    for c in classes:
        values = np.array([b["per_class"][c]["recall"] for b in blocks], dtype=float)
        mean.setdefault("recall", {})[c] = float(values.mean())
        std.setdefault("recall", {})[c] = float(values.std(ddof=1) if len(values) > 1 else 0.0)
    return mean, std


# --- batched per-member metrics (the stacked trainer's per-epoch validation), tested against the
# above


def confusion_matrices(
    pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """Per-member confusion matrices (members, true, predicted) of the valid rows."""
    import torch

    flat = y * n_classes + pred
    counts = torch.zeros(y.shape[0], n_classes * n_classes, device=y.device).scatter_add_(
        1, flat, valid.float()
    )
    return counts.view(-1, n_classes, n_classes)


def headline_from_confusion(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    """Accuracy, balanced accuracy (macro recall) and macro-F1 per member, over classes present,
    as `classification_report` computes them."""
    import torch

    diag = torch.diagonal(cm, dim1=1, dim2=2)
    support, predicted = cm.sum(2), cm.sum(1)
    present = (support > 0).float()
    recall = diag / support.clamp_min(1)
    precision = diag / predicted.clamp_min(1)
    f1 = torch.where(
        precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-12), 0.0
    )
    n_present = present.sum(1).clamp_min(1)
    return {
        "accuracy": diag.sum(1) / cm.sum((1, 2)).clamp_min(1),
        "balanced_accuracy": (recall * present).sum(1) / n_present,
        "macro_f1": (f1 * present).sum(1) / n_present,
        "recall": recall,
    }
