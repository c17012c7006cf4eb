"""Synthetic per-source sequences (stand-ins for binned light curves) for testing the model's
named-input seam (`data.inputs` + `model.encoders`). Not science: the class sets the level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xnet.data.catalog import LABEL


def synthetic_lightcurves(
    frame: pd.DataFrame, length: int = 32, noise: float = 0.5, seed: int = 0
) -> np.ndarray:
    """(sources, length) float32: a sinusoid of random phase on a level set by the source's class
    (its rank among the sorted class names), plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    classes = sorted(frame[LABEL].unique())
    level = pd.Categorical(frame[LABEL].to_numpy(dtype=object), categories=classes).codes.astype(
        float
    )
    t = np.linspace(0, 2 * np.pi, int(length))
    phase = rng.uniform(0, 2 * np.pi, size=(len(frame), 1))
    curves = (
        level[:, None]
        + np.sin(t[None, :] + phase)
        + noise * rng.normal(size=(len(frame), int(length)))
    )
    return curves.astype(np.float32)


def masked_sequences(
    frame: pd.DataFrame, bins: int = 256, share: float = 0.7, seed: int = 0
) -> np.ndarray:
    """(sources, 2, bins) float32 inputs shaped like binned light curves (rate, mask): `share` of
    the sources have one, with a random gap each; noise, not signal. For timing and memory
    benchmarks (benchmarks/lightcurves.py), where reading thousands of files would dominate."""
    rng = np.random.default_rng(seed)
    n, bins = len(frame), int(bins)
    mask = np.ones((n, bins), np.float32)
    start = rng.integers(0, bins, n)
    width = rng.integers(0, bins // 4, n)
    index = np.arange(bins)[None, :]
    mask[(index >= start[:, None]) & (index < (start + width)[:, None])] = 0
    mask[rng.random(n) >= share] = 0
    rate = rng.standard_normal((n, bins)).astype(np.float32) * mask
    return np.stack([rate, mask], axis=1)
