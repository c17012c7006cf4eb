"""Classification metrics as plain dicts (metrics.json), computed with torchmetrics.

Balanced accuracy is the macro-averaged recall; validation and test keep their natural class mix.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torchmetrics.functional.classification import (
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1")


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict:
    """The metrics block of metrics.json: headline numbers, per-class table, confusion matrix."""
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
        mean[key], std[key] = float(values.mean()), float(values.std(ddof=1) if len(values) > 1 else 0.0)
    classes = list(blocks[0]["per_class"])
    for c in classes:
        values = np.array([b["per_class"][c]["recall"] for b in blocks], dtype=float)
        mean.setdefault("recall", {})[c] = float(values.mean())
        std.setdefault("recall", {})[c] = float(values.std(ddof=1) if len(values) > 1 else 0.0)
    return mean, std
