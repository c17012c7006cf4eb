"""The per-class feature importance figure (`xnet.training.importance`): one panel per class, its
leading features by mean |contribution|, with the spread over folds under CV."""

from __future__ import annotations

import numpy as np

TOP = 8  # features shown per class


def importance_figure(block: dict, title: str = ""):
    """Horizontal bars per class: mean |contribution| to ln p(class) on its held-out sources, with
    the standard deviation over folds where there are folds. Fixed margins: render with
    `tight=False`."""
    from xnet.plotting.draw import fixed_margins, plt

    classes = list(block["mean"])
    cols = min(4, len(classes))
    rows = -(-len(classes) // cols)
    width, height = 3.3 * cols, 0.35 + 2.35 * rows
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    for ax, cls in zip(axes.ravel(), classes):
        mean = block["mean"][cls]
        std = (block.get("std") or {}).get(cls) or {}
        names = sorted(mean, key=lambda f: -_value(mean[f]))[:TOP][::-1]
        values = [_value(mean[f]) for f in names]
        errors = [_value(std.get(f)) for f in names] if std else None
        ax.barh(range(len(names)), values, xerr=errors, color="tab:blue", capsize=2)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        n = block.get("n_rows", {}).get(cls)
        ax.set_title(f"{cls} (n={n})" if n is not None else cls, fontsize=9)
    for ax in axes.ravel()[len(classes) :]:
        ax.set_visible(False)
    fig.supxlabel("mean |contribution| to ln p(class) on its held-out sources", fontsize=8)
    fig.suptitle(title or "per-class feature importance", fontsize=10)
    fixed_margins(fig, width, height, (0.9, 0.15, 0.55, 0.6), wspace=0.75, hspace=0.45)
    return fig


def _value(v) -> float:
    return 0.0 if v is None or not np.isfinite(v) else float(v)
