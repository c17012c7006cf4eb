"""The checkpoint file (`<tag>-best.ckpt`): one trained network as a Lightning-format dict of plain
values and tensors, loadable with `torch.load(weights_only=True)` here and by Lightning's
`XrayClassifier.load_from_checkpoint`; its NumPy export is written beside it (`export`).

Keys: `state_dict`, `hyper_parameters` (the `Classifier`'s arguments; for a network plugged in by
`model._target_`, its class path and arguments), `pytorch-lightning_version`, `epoch`,
`global_step`, `XrayDataModule` (the data module's state) and `compat.stamp`'s fields.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from xnet.errors import XnetError
from xnet.files import atomic_write, check_readable
from xnet.models.artifacts.compat import check_compatible, file_kind, stamp
from xnet.models.artifacts.export import write_export
from xnet.models.artifacts.layout import STATE_KEYS
from xnet.models.classifier import Classifier

NOT_A_CHECKPOINT = "not a checkpoint (corrupt or not a torch file"
RETRAIN = "pass a .ckpt written by xnet.train"


def write_checkpoint(path: Path, model: Classifier, state: dict, epoch: int) -> None:
    """The checkpoint of `model` with the data module's `state` (`XrayDataModule.state_dict()`),
    written atomically; and, for a network of the MLP family, its NumPy export beside it."""
    import lightning as L

    payload = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hyper_parameters),
        "pytorch-lightning_version": L.__version__,
        "epoch": epoch,
        "global_step": 0,
        "XrayDataModule": state,
        **stamp(state),  # xnet version and feature schema, checked on loading (compat)
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    if model.model_class:  # a plugged-in network runs its own forward: no NumPy export of it
        return
    # beside it, the NumPy export that xnet.predict loads without torch (the .ckpt stays the truth)
    meta = {key: payload[key] for key in ("hyper_parameters", "epoch", "XrayDataModule")}
    write_export(
        path, {k: v.detach().cpu().numpy() for k, v in payload["state_dict"].items()}, meta
    )


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint file read with `torch.load(weights_only=True)`: tensors and plain values only,
    so a checkpoint cannot run code (pickle.UnpicklingError otherwise)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def load_classifier(checkpoint: Mapping) -> Classifier:
    """The model of a checkpoint dict (see `read_checkpoint`). Raises KeyError or TypeError
    (arguments `Classifier` does not take) or RuntimeError (weights that do not fit)."""
    model = Classifier(**dict(checkpoint["hyper_parameters"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def read_checked(path: Path) -> dict:
    """A checkpoint read for prediction: a regular file in torch's format holding tensors and plain
    values only, from an xnet this one can read, with the data-module state prediction needs.
    Anything else is one line (XnetError) saying why and what to pass instead."""
    try:
        check_readable(path, "checkpoint")  # /dev/zero, a FIFO or a huge file: never read
        kind = file_kind(path)
    except XnetError as err:
        raise XnetError(f"run={err}; {RETRAIN}") from None
    except OSError as err:
        raise XnetError(f"run={path}: cannot be read ({first_line(err)})") from None
    if kind == "other":
        raise XnetError(f"run={path}: {NOT_A_CHECKPOINT}); {RETRAIN}")
    try:
        checkpoint = read_checkpoint(path)
    except pickle.UnpicklingError as err:
        if "weights only" not in str(err).lower():  # a damaged pickle, not a refused one
            raise XnetError(f"run={path}: {NOT_A_CHECKPOINT}: {first_line(err)})") from None
        raise XnetError(
            f"run={path}: refused: this file holds Python objects (a pickle) besides tensors and "
            f"plain values, and loading it could run any code it carries; it was not loaded. Pass "
            f"a checkpoint written by xnet.train"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        raise XnetError(f"run={path}: {NOT_A_CHECKPOINT}: {first_line(err)})") from None
    if isinstance(checkpoint, dict):
        check_compatible(checkpoint, path)
    check_contents(checkpoint, path)
    return checkpoint


def check_contents(checkpoint, path: Path) -> None:
    """The data-module state prediction needs, and no model input it cannot give."""
    state = checkpoint.get("XrayDataModule") if isinstance(checkpoint, dict) else None
    if (
        not isinstance(state, dict)
        or any(k not in state for k in STATE_KEYS)
        or "state_dict" not in checkpoint
    ):
        raise XnetError(
            f"run={path}: not an xnet checkpoint (no XrayDataModule state with classes, features "
            f"and scaler)"
        )
    hp = checkpoint.get("hyper_parameters") or {}
    extra = hp.get("inputs") or hp.get("encoders")  # inputs: of a model plugged in by _target_
    lightcurve_input = (state.get("lightcurves") or {}).get("input")
    if extra and (hp.get("inputs") or set(extra) != {lightcurve_input}):
        raise XnetError(
            f"run={path}: the model also reads {', '.join(extra)} (model.encoders, data.inputs); "
            "xnet.predict reads catalog features and light curves (data.lightcurves) only"
        )


def classifier_of(checkpoint: Mapping, path: Path) -> Classifier:
    """`load_classifier`, with one line for a checkpoint whose model this xnet cannot build."""
    try:
        return load_classifier(checkpoint)
    except XnetError as err:  # a plugged-in model class that cannot be imported or created
        raise XnetError(f"run={path}: {err}") from None
    except (TypeError, KeyError, RuntimeError, ValueError) as err:
        raise XnetError(
            f"run={path}: checkpoint does not match this version of xnet ({first_line(err)}); "
            f"retrain"
        ) from None
