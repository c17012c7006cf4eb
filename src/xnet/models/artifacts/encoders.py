"""NumPy forward passes of the encoders `xnet.models.artifacts.export` can export, so that
`xnet.predict` classifies with a light-curve run without torch: `NumpyLightCurveCNN` is
`xnet.models.encoders.LightCurveCNN` for one member (float32, as torch computes it)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: the encoder classes with a NumPy counterpart here, by their config `_target_`
EXPORTABLE = {"xnet.models.encoders.LightCurveCNN"}


class NumpyLightCurveCNN:
    """Convolutions (zero padding, ReLU) with max-pools between them, then the mean and maximum of
    each filter over the masked-in bins; the learned "no light curve" embedding where the mask is
    empty; and the has-a-light-curve flag."""

    def __init__(self, weights: list, biases: list, missing: np.ndarray, pool: int):
        self.weights = [np.asarray(w, np.float32) for w in weights]  # (out, in, kernel)
        self.biases = [np.asarray(b, np.float32) for b in biases]
        self.missing, self.pool = np.asarray(missing, np.float32), int(pool)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str, spec: Mapping):
        layers = sorted(
            int(k[len(prefix) + len("weights.") :])
            for k in arrays
            if k.startswith(prefix + "weights.")
        )
        return cls(
            [arrays[f"{prefix}weights.{i}"][0] for i in layers],
            [arrays[f"{prefix}biases.{i}"][0] for i in layers],
            arrays[f"{prefix}missing"][0],
            int(spec.get("pool", 4)),
        )

    @staticmethod
    def conv(h: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """(rows, in, length) -> (rows, out, length), zero-padded like torch's `padding=k // 2`."""
        k = weight.shape[-1]
        padded = np.pad(h, ((0, 0), (0, 0), (k // 2, k // 2)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=2)  # rows, in, L, k
        out = np.einsum("rilk,oik->rol", windows, weight, optimize=True)
        out += bias[None, :, None]
        return np.maximum(out, 0, out=out)

    def pooled(self, h: np.ndarray) -> np.ndarray:
        length = h.shape[-1] // self.pool * self.pool
        return h[..., :length].reshape(*h.shape[:-1], -1, self.pool).max(-1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, np.float32)
        mask = h[:, -1:, :]
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            if k:
                h, mask = self.pooled(h), self.pooled(mask)
            h = self.conv(h, w, b)
        count = mask.sum(-1)  # (rows, 1)
        mean = (h * mask).sum(-1) / np.maximum(count, 1)
        peak = np.where(mask > 0, h, 0).max(-1)
        has = (count > 0).astype(np.float32)
        pooled = has * np.concatenate([mean, peak], -1) + (1 - has) * self.missing[None]
        return np.concatenate([pooled, has], -1).astype(np.float32)


def numpy_encoders(arrays: Mapping[str, np.ndarray], specs: Mapping) -> dict | None:
    """{input name: NumPy encoder} for a checkpoint's `encoders` (None if one has no NumPy form)."""
    out = {}
    for name, spec in dict(specs).items():
        if str(spec.get("_target_")) not in EXPORTABLE:
            return None
        out[str(name)] = NumpyLightCurveCNN.from_arrays(arrays, f"net.encoders.{name}.", spec)
    return out
