"""Figures (matplotlib, headless): each function draws one figure and returns it, unsaved.

Which figures a run writes, and where, is `xnet.plotting.run_figures`; these only draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: axis labels of the hardness ratios with their energy bands (4XMM EPIC bands 1-5; CSC s/m/h)
HARDNESS_BANDS = {
    "hr1": "hr1 = (B2-B1)/(B2+B1): 0.5-1.0 vs 0.2-0.5 keV",
    "hr2": "hr2 = (B3-B2)/(B3+B2): 1.0-2.0 vs 0.5-1.0 keV",
    "hr3": "hr3 = (B4-B3)/(B4+B3): 2.0-4.5 vs 1.0-2.0 keV",
    "hr4": "hr4 = (B5-B4)/(B5+B4): 4.5-12 vs 2.0-4.5 keV",
    "hr_ms": "hr_ms = (M-S)/(M+S): 1.2-2.0 vs 0.5-1.2 keV",
    "hr_hm": "hr_hm = (H-M)/(H+M): 2.0-7.0 vs 1.2-2.0 keV",
    "hr_hms": "hr_hms = (H-M-S)/(H+M+S): 2.0-7.0 vs 0.5-2.0 keV",
}


def class_colours(classes: Sequence[str]) -> dict[str, tuple]:
    """One colour per class, the same in every figure of a run (tab10; tab20 beyond ten classes)."""
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    return {c: cmap(i % cmap.N) for i, c in enumerate(classes)}


def laid_out(fig):
    """`fig`, laid out when drawn (tight): in the process that renders it."""
    fig.set_layout_engine("tight")
    return fig


def fixed_margins(
    fig, width: float, height: float, margins: tuple[float, float, float, float], wspace, hspace
) -> None:
    """Panels on a fixed grid: `margins` (left, right, bottom, top) in inches of a figure
    `width` x `height` inches, instead of a layout pass over every panel's ticks (render with
    `tight=False`, one draw)."""
    left, right, bottom, top = margins
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
        hspace=hspace,
    )


def confusion_matrix_figure(
    cm: np.ndarray, classes: Sequence[str], title: str = "", normalize: bool = False
):
    """Rows true class, columns predicted; counts, or row-normalised fractions.

    Laid out on fixed margins in inches (from the label lengths), not by a layout pass: render it
    with `png_bytes(fig, tight=False)`, one draw. A run draws two per network for TensorBoard,
    so this is the figure xnet draws most."""
    cm = np.asarray(cm, dtype=float)
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    n = len(classes)
    # sources per true class
    row_labels = [f"{c} (N={int(k)})" for c, k in zip(classes, cm.sum(axis=1))]
    cell = 0.55
    left = 0.45 + 0.075 * max(len(s) for s in row_labels)  # y label and tick labels
    bottom = 0.45 + 0.055 * max(len(c) for c in classes)  # rotated x tick labels and x label
    top, right = 0.45, 1.05  # title; colour bar with its tick labels
    half_title = 0.095 * len(title) / 2 - cell * n / 2 + 0.1  # the title is centred on the matrix
    left, right = max(left, half_title), max(right, half_title)
    width, height = left + cell * n + right, bottom + cell * n + top
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((left / width, bottom / height, cell * n / width, cell * n / height))
    bar = fig.add_axes(
        ((left + cell * n + 0.15) / width, bottom / height, 0.18 / width, cell * n / height)
    )
    image = ax.imshow(values, cmap="Blues", vmin=0, aspect="auto")
    fig.colorbar(image, cax=bar)
    ticks = np.arange(n)
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, row_labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    threshold = values.max() / 2 if values.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if values[i, j] > threshold else "black",
            )
    return fig


def class_shares_figure(counts: Mapping[str, int], title: str = ""):
    """The study's pie of class shares, with the counts in the legend (small classes stay
    legible)."""
    classes = list(counts)
    values = np.array([counts[c] for c in classes], dtype=float)
    colours = class_colours(classes)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    wedges, _ = ax.pie(
        values,
        colors=[colours[c] for c in classes],
        startangle=90,
        counterclock=False,
        wedgeprops={"linewidth": 0.6, "edgecolor": "white"},
    )
    total = values.sum()
    labels = [f"{c}: {int(n)} ({100 * n / total:.1f} %)" for c, n in zip(classes, values)]
    ax.legend(
        wedges, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False
    )
    ax.set_title(title or f"class shares ({int(total)} sources)")
    ax.axis("equal")
    return laid_out(fig)


def sky_figure(
    l_deg: np.ndarray,
    b_deg: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    title: str = "",
):
    """Positions in galactic coordinates, Mollweide projection, l = 0 at the centre increasing to
    the left (the astronomers' convention)."""
    l_wrapped = np.remainder(np.asarray(l_deg, dtype=float) + 180.0, 360.0) - 180.0
    x, y = -np.radians(l_wrapped), np.radians(np.asarray(b_deg, dtype=float))
    labels = np.asarray(labels, dtype=object)
    colours = class_colours(classes)
    fig = plt.figure(figsize=(9, 5))
    ax = fig.add_subplot(111, projection="mollweide")
    for c in classes:
        at = labels == c
        ax.scatter(
            x[at],
            y[at],
            s=4,
            color=colours[c],
            label=f"{c} ({int(at.sum())})",
            alpha=0.8,
            linewidths=0,
        )
    _longitude_labels(ax)
    ax.grid(True, lw=0.4, alpha=0.5)
    ax.set_xlabel("galactic longitude l")
    ax.set_ylabel("galactic latitude b")
    ax.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, -0.28),
        ncol=min(len(classes), 5),
        fontsize=8,
        markerscale=3,
        frameon=False,
    )
    ax.set_title(title or "sky positions (galactic, Mollweide)", pad=14)
    return laid_out(fig)


def _longitude_labels(ax) -> None:
    """Longitude labels every 30 deg below the plane (b = -40 deg), where sources are sparse, not
    over them; l increases to the left."""
    ticks = np.arange(-150, 180, 30)
    ax.set_xticks(np.radians(ticks), [""] * len(ticks))
    for t in ticks:
        ax.text(
            np.radians(t),
            np.radians(-40),
            f"{(-t) % 360}°",
            fontsize=7,
            color="0.35",
            ha="center",
            va="center",
        )


def hardness_figure(
    x: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    x_name: str,
    y_name: str,
    title: str = "",
):
    """One hardness ratio against another, one panel for all classes plus one per class (the study
    found CVs inside the AGN region; per-class panels show overlaps a single scatter hides)."""
    labels = np.asarray(labels, dtype=object)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(classes) + 1
    cols = min(n, 5)
    rows = int(np.ceil(n / cols))
    # one row: room for the y label
    width, height = 2.7 * cols, 2.6 * rows + (0.8 if rows == 1 else 0.0)
    fig, axes = plt.subplots(
        rows, cols, figsize=(width, height), sharex=True, sharey=True, squeeze=False
    )
    axes = axes.ravel()
    _hardness_panels(axes, x, y, labels, classes)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[:n]:
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
    fig.supxlabel(HARDNESS_BANDS.get(x_name, x_name))
    # two lines: fits one row
    fig.supylabel(HARDNESS_BANDS.get(y_name, y_name).replace(": ", ":\n"), fontsize=10)
    fig.suptitle(title or f"{y_name} against {x_name}")
    # fixed margins in inches (axis labels, tick labels, titles), not a layout pass over every
    # panel's ticks: render with tight=False, one draw
    left, right, bottom, top, gap_x, gap_y = 1.0, 0.15, 0.8, 0.6, 0.3, 0.4
    panel_w = (width - left - right - gap_x * (cols - 1)) / cols
    panel_h = (height - bottom - top - gap_y * (rows - 1)) / rows
    fixed_margins(fig, width, height, (left, right, bottom, top), gap_x / panel_w, gap_y / panel_h)
    return fig


def _hardness_panels(axes, x, y, labels, classes) -> None:
    """All classes in the first panel; then one per class, over the others in grey. Sources
    missing either ratio are left out."""
    ok = np.isfinite(x) & np.isfinite(y)
    colours = class_colours(classes)
    # markers as Line2D (one marker path stamped per point), not scatter collections: the same
    # dots (diameter = sqrt of scatter's area) at a fraction of the cost with 10^4 sources per panel
    dots = {"ls": "none", "marker": "o", "mew": 0}
    for c in classes:
        at = ok & (labels == c)
        axes[0].plot(x[at], y[at], ms=1.7, color=colours[c], alpha=0.6, label=c, **dots)
    # y given: no title placement pass per panel
    axes[0].set_title("all classes", fontsize=9, y=1.0)
    axes[0].legend(fontsize=6, markerscale=3, frameon=False, loc="best")
    for ax, c in zip(axes[1:], classes):
        ax.plot(x[ok], y[ok], ms=1.4, color="0.85", **dots)
        at = ok & (labels == c)
        ax.plot(x[at], y[at], ms=2.0, color=colours[c], **dots)
        ax.set_title(f"{c} ({int(at.sum())} with both)", fontsize=9, y=1.0)


def feature_histograms_figure(
    values: np.ndarray, names: Sequence[str], title: str = "", bins: int = 40
):
    """One histogram per feature column (NaNs left out, their share in the panel title).

    Counts come from `np.histogram` and are drawn as one filled step outline per panel (`stairs`),
    not `bins` bar patches, and the panels sit on a fixed grid (margins in inches) instead of a
    `tight_layout` pass: with 30-odd features this is the run's largest figure."""
    values = np.asarray(values, dtype=float)
    n = len(names)
    cols = min(n, 6)
    rows = int(np.ceil(n / cols))
    width, height = 2.3 * cols, 1.8 * rows + 0.3
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    fixed_margins(fig, width, height, (0.45, 0.15, 0.3, 0.6), wspace=0.35, hspace=0.6)
    axes = axes.ravel()
    for i, (ax, name) in enumerate(zip(axes, names)):
        column = values[:, i]
        finite = column[np.isfinite(column)]
        if len(finite):
            counts, edges = np.histogram(finite, bins=bins)
            ax.stairs(counts, edges, fill=True, color="tab:blue", alpha=0.8)
        missing = 1 - len(finite) / max(len(column), 1)
        # y given: the title sits where it would, without a placement pass over each panel's ticks
        ax.set_title(
            f"{name}" + (f" ({100 * missing:.0f} % missing)" if missing > 0 else ""),
            fontsize=7,
            y=1.0,
        )
        ax.tick_params(labelsize=6)
        ax.locator_params(axis="x", nbins=4)
        ax.locator_params(axis="y", nbins=3)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title, y=1 - 0.12 / height, va="top")
    return fig


def missing_values_figure(table: pd.DataFrame, title: str = ""):
    """Heat map of the missing share per class (rows) and feature (columns)."""
    fig, ax = plt.subplots(figsize=(1.2 + 0.36 * table.shape[1], 1.4 + 0.4 * table.shape[0]))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="Reds", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="missing share")
    ax.set_xticks(np.arange(table.shape[1]), table.columns, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(np.arange(table.shape[0]), table.index, fontsize=8)
    ax.set_title(title or "missing values per class and feature")
    return laid_out(fig)
