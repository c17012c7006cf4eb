"""Where a run's artifacts live and what a checkpoint's data-module state must hold."""

from __future__ import annotations

from pathlib import Path

#: the folder of a run directory that holds its checkpoints, exports and tree members
FOLDER = "checkpoints"

#: what a checkpoint's XrayDataModule state must hold for prediction
STATE_KEYS = (
    "classes",
    "feature_names",
    "features",
    "missing_indicators",
    "feature_set",
    "catalog",
    "scaler",
)


def checkpoint_name(tag: str) -> str:
    """A network's checkpoint, relative to the run directory (as metrics.json names it)."""
    return f"{FOLDER}/{tag}-best.ckpt"


def trees_name(split_tag: str) -> str:
    """A split's tree member, relative to the run directory (as metrics.json names it)."""
    return f"{FOLDER}/{split_tag}-trees.npz"


def export_path(checkpoint: Path) -> Path:
    """The NumPy export beside a checkpoint."""
    return Path(checkpoint).with_suffix(".npz")


def run_of(checkpoint: Path) -> Path:
    """The run directory a checkpoint file was written in (`<run>/checkpoints/<tag>-best.ckpt`)."""
    return Path(checkpoint).parent.parent
