"""The sweep summary's figure (`xnet.runs.sweep`): a metric against network width, as the study
chose its 30 neurons. A run's own figures are `xnet.plotting.draw`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xnet.plotting.draw import laid_out, plt


def accuracy_vs_width_figure(
    widths: Sequence[float],
    curves: Mapping[tuple[str, str], Sequence[float]],
    ylabel: str = "accuracy",
    title: str = "",
):
    """The study's model-choice plot: a metric against neurons per hidden layer, log axis.
    `curves`: {(group, part): values per width}; a group (the other varying overrides, such as
    `model.depth=2`) keeps one colour, a part (train, validation, test) one line style."""
    order = np.argsort(np.asarray(widths, dtype=float))
    widths = np.asarray(widths, dtype=float)[order]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    styles = {"train": (":", "o"), "validation": ("--", "^"), "test": ("-", "s")}
    groups = list(dict.fromkeys(group for group, _ in curves))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (group, part), values in curves.items():
        values = np.asarray(values, dtype=float)[order]
        if not np.isfinite(values).any():
            continue
        line, marker = styles.get(part, ("-", "o"))
        index = groups.index(group) if len(groups) > 1 else list(styles).index(part)
        label = f"{part} ({group})" if len(groups) > 1 and group else part
        colour = colours[index % len(colours)]
        ax.plot(widths, values, ls=line, marker=marker, color=colour, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("neurons per hidden layer")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", lw=0.4, alpha=0.5)
    if len(groups) > 1:  # one set of curves per combination of the other overrides: legend beside
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
    else:
        ax.legend()
    ax.set_title(title or f"{ylabel} against width")
    return laid_out(fig)
