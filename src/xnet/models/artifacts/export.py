"""A NumPy export of a checkpoint, so that `xnet.predict` needs neither torch nor scikit-learn.

Training writes `<tag>-best.npz` beside each `<tag>-best.ckpt`: the network's weights as arrays and
one JSON string (`meta`) holding the checkpoint's hyperparameters, its data-module state (classes,
features, scaler, training statistics) and the SHA-256 of the .ckpt it was made from. The .ckpt
stays the source of truth: an export whose hash does not match its checkpoint (the checkpoint was
replaced), that is missing (runs from before the export) or that holds anything but a plain MLP
(or one with a light-curve encoder, `xnet.models.artifacts.encoders`) is ignored and prediction
loads the .ckpt with torch. Loading uses `np.load(allow_pickle=False)`: arrays and text only, so
an export cannot run code either.

`NumpyModel` is the forward pass of `xnet.models.Classifier` (ReLU MLP, softmax with the fitted
temperature) and `NumpyScaler` the fitted impute -> Yeo-Johnson -> standard -> min-max pipeline of
`xnet.data.preprocessing`, with scikit-learn's formulas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xnet.errors import XnetError
from xnet.files import atomic_write, check_readable, sha256_bounded
from xnet.models.artifacts.layout import export_path

_LAYER = re.compile(r"^net\.(?:head\.)?layers\.(\d+)\.(weight|bias)$")


def file_sha256(path: Path) -> str:
    """The checkpoint's hash, read in blocks and bounded by what a checkpoint can be."""
    return sha256_bounded(Path(path), "checkpoint")


def write_export(checkpoint: Path, arrays: Mapping[str, np.ndarray], meta: Mapping) -> Path | None:
    """The export of the (already written) `checkpoint`: `arrays` (its state dict as NumPy) and
    `meta` (plain values); None, writing nothing, where meta is not JSON-serialisable."""
    try:
        text = json.dumps({**meta, "checkpoint_sha256": file_sha256(checkpoint)})
    except (TypeError, ValueError):
        return None

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(text), **{f"w/{k}": np.asarray(v) for k, v in arrays.items()})

    return atomic_write(export_path(checkpoint), write)


@dataclass
class NumpyModel:
    """A trained MLP's forward pass in NumPy (float32, as torch computes it)."""

    layers: list[tuple[np.ndarray, np.ndarray]]  # (weight transposed: in x out, bias)
    temperature: float
    class_names: list[str]
    class_prior: list[float] | None
    prior_power: float
    encoders: dict | None = None  # input name -> NumPy encoder (xnet.models.artifacts.encoders)

    def predict_proba(
        self, x: np.ndarray, batch_size: int = 65536, extra: dict | None = None
    ) -> np.ndarray:
        """Class probabilities of scaled feature rows `x` (and, for a model with encoders, their
        extra inputs `extra`: {name: array with one row per row of x})."""
        out = np.empty((len(x), len(self.class_names)), np.float32)
        for start in range(0, len(x), batch_size):
            h = np.asarray(x[start : start + batch_size], np.float32)
            if self.encoders:
                part = {n: extra[n][start : start + batch_size] for n in self.encoders}
                h = np.concatenate([h, *(enc(part[n]) for n, enc in self.encoders.items())], 1)
            for k, (w, b) in enumerate(self.layers):
                h = h @ w
                h += b
                if k < len(self.layers) - 1:
                    np.maximum(h, 0, out=h)
            h /= np.float32(self.temperature)
            h -= h.max(axis=1, keepdims=True)
            np.exp(h, out=h)
            h /= h.sum(axis=1, keepdims=True)
            out[start : start + batch_size] = h
        return out


@dataclass
class NumpyScaler:
    """The fitted scaler pipeline from its `scaler_state` (finite imputation statistics only)."""

    statistics: np.ndarray
    lambdas: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    mm_scale: np.ndarray
    mm_min: np.ndarray

    @classmethod
    def from_state(cls, state: Mapping) -> NumpyScaler | None:
        stats = np.asarray(state["impute_statistics"], float)
        if not np.isfinite(stats).all():
            return None  # scikit-learn's imputer drops/keeps empty features its own way: use it
        lo, hi = (
            np.asarray(state["minmax_data_min"], float),
            np.asarray(state["minmax_data_max"], float),
        )
        span = hi - lo
        span[span < 10 * np.finfo(float).eps] = 1.0  # scikit-learn's _handle_zeros_in_scale
        mm_scale = 1.0 / span
        scale = np.asarray(state["standard_scale"], float)
        return cls(
            stats,
            np.asarray(state["power_lambdas"], float),
            np.asarray(state["standard_mean"], float),
            np.where(scale == 0, 1.0, scale),
            mm_scale,
            -lo * mm_scale,
        )

    def transform(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            x = np.where(np.isnan(x), self.statistics, x)
            out = np.empty_like(x)
            for j, lmbda in enumerate(self.lambdas):
                out[:, j] = _yeo_johnson(x[:, j], lmbda)
            out -= self.mean
            out /= self.scale
            out *= self.mm_scale
            out += self.mm_min
        return out.astype(np.float32)


def _yeo_johnson(x: np.ndarray, lmbda: float) -> np.ndarray:
    """scikit-learn's PowerTransformer._yeo_johnson_transform."""
    out = np.zeros_like(x)
    pos = x >= 0
    eps = np.spacing(1.0)
    if abs(lmbda) < eps:
        out[pos] = np.log1p(x[pos])
    else:
        out[pos] = (np.power(x[pos] + 1, lmbda) - 1) / lmbda
    if abs(lmbda - 2) > eps:
        out[~pos] = -(np.power(-x[~pos] + 1, 2 - lmbda) - 1) / (2 - lmbda)
    else:
        out[~pos] = -np.log1p(-x[~pos])
    return out


def mlp_layers(
    arrays: Mapping[str, np.ndarray], head: bool = False
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """A plain MLP's (weight transposed: in x out, bias) per layer, float32, from a `Classifier`
    state dict as NumPy arrays; None when it holds anything else. With `head`, the MLP head of a
    network with extra-input encoders (`net.head.*`; its `net.encoders.*` are read elsewhere)."""
    found: dict[int, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        match = _LAYER.match(key)
        if match and head == key.startswith("net.head."):
            found.setdefault(int(match[1]), {})[match[2]] = value
        elif key != "temperature" and not (head and key.startswith("net.encoders.")):
            return None
    return [
        (
            np.ascontiguousarray(found[i]["weight"].T, np.float32),
            found[i]["bias"].astype(np.float32),
        )
        for i in sorted(found)
    ]


def network_weights(model) -> tuple[list[tuple[np.ndarray, np.ndarray]], float] | None:
    """(layers, temperature) of a `NumpyModel` or a torch `Classifier` (its state dict read as
    arrays); None for a network with extra-input encoders or plugged in by `model._target_` (its
    forward is its own, whatever its weights are named)."""
    if isinstance(model, NumpyModel):
        return model.layers, float(model.temperature)
    if getattr(model, "model_class", None):
        return None
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    layers = mlp_layers(arrays)
    return None if layers is None else (layers, float(arrays.get("temperature", 1.0)))


def read_export(checkpoint: Path) -> tuple[dict, NumpyModel] | None:
    """(checkpoint meta, model) from the export beside `checkpoint`, or None where there is no
    usable export (none, stale, unreadable, or not a plain MLP): then load the .ckpt with torch."""
    path = export_path(checkpoint)
    if not path.exists():
        return None
    try:
        check_readable(path, "checkpoint")
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            arrays = {k[2:]: npz[k] for k in npz.files if k.startswith("w/")}
        if meta.get("checkpoint_sha256") != file_sha256(checkpoint):
            return None
        hp = meta["hyper_parameters"]
        if hp.get("model_class"):  # plugged in by model._target_: its forward is its own
            return None
        encoders = None
        if hp.get("encoders"):  # a light-curve encoder has a NumPy forward pass; others do not
            from xnet.models.artifacts.encoders import numpy_encoders

            encoders = numpy_encoders(arrays, hp["encoders"])
            if encoders is None:
                return None
        layers = mlp_layers(arrays, head=encoders is not None)
        if layers is None:
            return None
        model = NumpyModel(
            layers,
            float(arrays.get("temperature", 1.0)),
            list(hp["class_names"]),
            hp.get("class_prior"),
            float(hp.get("prior_power") or 0.0),
            encoders,
        )
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError, XnetError):
        return None  # XnetError: not a regular file, or too large; the .ckpt's loader says so
    return meta, model
