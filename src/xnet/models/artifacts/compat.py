"""What a checkpoint records about the xnet that wrote it, and whether this xnet can read it.

`xnet.models.artifacts.checkpoint.write_checkpoint` stores `stamp()`: the xnet version and the
feature schema (the version of the rules that turn catalog columns into model features,
`FEATURE_SCHEMA`, plus the feature set and names). `check_compatible` refuses, in one line, a
checkpoint from a newer feature schema or checkpoint format; checkpoints from before these fields
existed load as before.
"""

from __future__ import annotations

from pathlib import Path

from xnet import __version__
from xnet.errors import XnetError

#: layout of the checkpoint dict (keys, XrayDataModule state); raise it on an incompatible change
CHECKPOINT_FORMAT = 1
#: version of the feature definitions (xnet.data.features: derived features, indicators, scaling);
#: raise when the same feature name would be computed differently
FEATURE_SCHEMA = 1

#: the first bytes of a file torch.save writes: a zip archive (torch >= 1.6) or a legacy pickle
_ZIP_MAGIC = b"PK\x03\x04"


def stamp(state: dict) -> dict:
    """The fields a new checkpoint carries (top level of the checkpoint dict)."""
    return {
        "xnet_version": __version__,
        "xnet_checkpoint_format": CHECKPOINT_FORMAT,
        "feature_schema": {
            "version": FEATURE_SCHEMA,
            "feature_set": state.get("feature_set"),
            "features": list(state.get("features") or []),
            "feature_names": list(state.get("feature_names") or []),
        },
    }


def check_compatible(checkpoint: dict, path: Path) -> None:
    """One line for a checkpoint this xnet cannot read correctly; old unstamped ones pass."""
    written_by = checkpoint.get("xnet_version", "an older xnet")
    fmt = checkpoint.get("xnet_checkpoint_format")
    if isinstance(fmt, int) and fmt > CHECKPOINT_FORMAT:
        raise XnetError(
            f"run={path}: checkpoint format {fmt} (written by xnet {written_by}) is newer than "
            f"this xnet {__version__} reads ({CHECKPOINT_FORMAT}); upgrade xnet or retrain"
        )
    schema = checkpoint.get("feature_schema")
    if schema is None:
        return
    version = schema.get("version") if isinstance(schema, dict) else None
    if version != FEATURE_SCHEMA:
        raise XnetError(
            f"run={path}: features were computed with feature schema {version} "
            f"(xnet {written_by}); this xnet {__version__} computes schema {FEATURE_SCHEMA}, "
            f"so its inputs would differ; use xnet {written_by} or retrain"
        )
    state = checkpoint.get("XrayDataModule") or {}
    if list(schema.get("feature_names") or []) != list(state.get("feature_names") or []):
        raise XnetError(
            f"run={path}: the checkpoint's feature schema and its scaler's feature names differ; "
            f"the file is damaged, retrain"
        )


def file_kind(path: Path) -> str:
    """'zip' (torch.save's format), 'pickle' (a legacy torch file or any pickle) or 'other'."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == _ZIP_MAGIC:
        return "zip"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2-5
        return "pickle"
    return "other"
