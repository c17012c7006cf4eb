"""Example light curves per class, as the model sees them (binned, normalised, masked): a grid,
one row per class, for the run directory and TensorBoard (`lightcurves/examples_per_class`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xnet.plotting.draw import class_colours, plt


def lightcurve_examples_figure(
    sequences: np.ndarray,
    y: np.ndarray,
    classes: Sequence[str],
    per_class: int = 4,
    seed: int = 0,
):
    """`sequences` (sources, channels, bins; channel 0 the normalised rate, the last the mask):
    `per_class` sources with a light curve drawn at random (seeded) from each class."""
    rng = np.random.default_rng(seed)
    colours = class_colours(classes)
    has = sequences[:, -1].sum(axis=1) > 0
    fig, axes = plt.subplots(
        len(classes),
        per_class,
        figsize=(2.6 * per_class, 1.3 * len(classes) + 0.6),
        sharex=True,
        squeeze=False,
    )
    for row, cls in enumerate(classes):
        pool = np.flatnonzero((y == row) & has)
        chosen = (
            rng.choice(pool, size=min(per_class, len(pool)), replace=False) if len(pool) else []
        )
        for col in range(per_class):
            ax = axes[row, col]
            ax.tick_params(labelsize=6)
            if col < len(chosen):
                rate, mask = sequences[chosen[col], 0], sequences[chosen[col], -1] > 0
                bins = np.arange(len(rate))
                ax.plot(bins[mask], rate[mask], ".", ms=2, color=colours[cls])
            else:
                ax.text(0.5, 0.5, "no light curve", ha="center", va="center", fontsize=7)
            if col == 0:
                ax.set_ylabel(f"{cls}\n(n={len(pool)})", fontsize=8)
    fig.suptitle(
        "example light curves per class (rate / mean - 1 per bin; gaps masked)", fontsize=9
    )
    fig.supxlabel("bin", fontsize=8)
    fig.tight_layout()
    return fig
