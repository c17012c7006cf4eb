"""The coverage figure: metrics of the kept sources against coverage (`xnet.evaluation.coverage`
computes the curve)."""

from __future__ import annotations

from pathlib import Path

from xnet.evaluation.coverage import MUWCLASS_CONFIDENT, OPERATING_POINT


def coverage_figure(block: dict, title: str = ""):
    """Accuracy, balanced accuracy and macro-F1 of the kept sources against coverage, with
    MUWCLASS's confident subset as reference points at 81 %."""
    from xnet.plotting.draw import plt

    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    x = [p["coverage"] for p in block["curve"]]
    colours = {"accuracy": "tab:blue", "balanced_accuracy": "tab:orange", "macro_f1": "tab:green"}
    for key, colour in colours.items():
        ax.plot(
            x,
            [p[key] for p in block["curve"]],
            marker="o",
            ms=3,
            color=colour,
            label=key.replace("_", " "),
        )
        ax.plot(
            [MUWCLASS_CONFIDENT["coverage"]],
            [MUWCLASS_CONFIDENT[key]],
            marker="*",
            ms=11,
            color=colour,
            ls="none",
        )
    ax.plot([], [], marker="*", ms=11, color="0.3", ls="none", label="MUWCLASS confident subset")
    ax.axvline(OPERATING_POINT, color="0.7", ls=":", lw=1)
    ax.set_xlabel(f"coverage (share kept, most confident first: {block['confidence']})")
    ax.set_ylabel("metric on the kept sources")
    ax.set_xlim(0, 1.02)
    ax.set_title(title or "selective classification (pooled out-of-fold)")
    ax.legend(loc="lower left", fontsize=8)
    # fixed margins in inches: drawn once, without a layout pass (render with tight=False)
    fig.subplots_adjust(
        left=0.75 / 5.6, right=1 - 0.15 / 5.6, bottom=0.55 / 4.2, top=1 - 0.35 / 4.2
    )
    return fig


def write_figure(block: dict, run_dir, renderer) -> str:
    """`coverage.png` in the run directory, written when `renderer`
    (`xnet.plotting.renderer.Renderer`)
    finishes; its file name."""
    path = Path(run_dir) / "coverage.png"
    renderer.submit(coverage_figure(block), path, tight=False)
    return path.name
