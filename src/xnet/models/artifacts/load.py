"""One checkpoint loaded for prediction: from its current NumPy export (no torch, no scikit-learn
import), else from the .ckpt with `weights_only=True` (tensors and plain values only, so a
checkpoint file cannot run code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xnet.models.artifacts.export import NumpyModel, NumpyScaler, read_export
from xnet.models.artifacts.layout import STATE_KEYS


@dataclass
class CheckpointModel:
    """One trained model: network (`NumpyModel`, or a torch `Classifier` for checkpoints without a
    current export), fitted scaler (`NumpyScaler` or the scikit-learn pipeline) and the
    checkpoint's data-module state."""

    path: Path
    model: NumpyModel | object
    scaler: NumpyScaler | object
    state: dict


def scaler_of(state: dict):
    """The fitted scaler of a data-module state: in NumPy where it can be, else scikit-learn's."""
    scaler = NumpyScaler.from_state(state["scaler"])
    if scaler is None:
        from xnet.data.preprocessing import scaler_from_state

        scaler = scaler_from_state(state["scaler"])
    return scaler


def load_model(path: Path) -> CheckpointModel:
    """A checkpoint's model and scaler: from its current NumPy export, else from the .ckpt loading
    tensors and plain values only (`weights_only`); a file that is no readable xnet checkpoint is
    one line (XnetError)."""
    exported = read_export(path)
    if exported is not None:
        meta, model = exported
        state = meta.get("XrayDataModule")
        if isinstance(state, dict) and all(k in state for k in STATE_KEYS):
            return CheckpointModel(path=path, model=model, scaler=scaler_of(state), state=state)
    from xnet.models.artifacts.checkpoint import classifier_of, read_checked

    checkpoint = read_checked(path)
    model = classifier_of(checkpoint, path)
    state = checkpoint["XrayDataModule"]
    return CheckpointModel(path=path, model=model, scaler=scaler_of(state), state=state)
