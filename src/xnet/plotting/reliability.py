"""Reliability diagrams: accuracy against confidence, before and after temperature scaling."""

from __future__ import annotations

import numpy as np

from xnet.evaluation.calibration import expected_calibration_error, reliability_bins
from xnet.plotting.draw import plt


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
    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(5.2, 6.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="perfect calibration")
    for probs, name, colour, marker in (
        (probs_before, "before (T = 1)", "tab:red", "o"),
        (probs_after, f"after (T = {temperature:.2f})", "tab:blue", "s"),
    ):
        bins = reliability_bins(probs, y, n_bins)
        filled = bins["count"] > 0
        ece = expected_calibration_error(probs, y, n_bins)
        ax.plot(
            bins["confidence"][filled],
            bins["accuracy"][filled],
            marker=marker,
            color=colour,
            label=f"{name}: ECE {ece:.3f}",
        )
        centres = (bins["edges"][:-1] + bins["edges"][1:]) / 2
        width = (bins["edges"][1] - bins["edges"][0]) / 2.2
        offset = -width / 2 if colour == "tab:red" else width / 2
        shares = bins["count"] / max(bins["count"].sum(), 1)
        hist.bar(centres + offset, shares, width=width, color=colour, alpha=0.7)
        for x, share, count in zip(centres + offset, shares, bins["count"]):
            if count > 0:  # sources per bin: a point from 3 sources is not a point from 300
                hist.text(
                    x, share, f"{int(count)}", ha="center", va="bottom", fontsize=5, color=colour
                )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy in bin")
    ax.set_title(title or "reliability diagram")
    ax.legend(loc="upper left", fontsize=8)
    hist.set_xlabel("confidence (top-class probability)")
    hist.set_ylabel("share of sources (n above)")
    # fixed margins in inches: drawn once, without a layout pass (render with tight=False)
    fig.subplots_adjust(
        left=0.75 / 5.2, right=1 - 0.15 / 5.2, bottom=0.55 / 6.2, top=1 - 0.35 / 6.2, hspace=0.06
    )
    return fig
