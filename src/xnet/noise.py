"""Measurement-error resampling of the training set (MUWCLASS's idea, Yang et al. 2022).

A catalog value with a quoted 1-sigma error is one draw of the truth. The training part gets
`copies` extra versions of each of its sources in which every catalog column `c` with an error
column `c_err` is redrawn from N(c, c_err), and the features are recomputed from the redrawn
columns (so hardness ratios, colours and flux ratios move consistently). The network then learns
how far a faint source's features can wander. Only training rows are resampled; validation and
test rows keep their catalog values. A flux redrawn to zero or below keeps its catalog value
(a flux has no logarithm or hardness ratio there).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from xnet.dataset import LabelledSet
from xnet.features import build_features

#: canonical columns that must stay positive when redrawn
POSITIVE = ("flux_", "rate_")
ERR_SUFFIX = "_err"


def perturbed_frame(frame: pd.DataFrame, rng: np.random.Generator, scale: float = 1.0) -> pd.DataFrame:
    """A copy of `frame` with each column that has an `_err` partner redrawn within its error."""
    out = frame.copy()
    for column in frame.columns:
        err_column = column + ERR_SUFFIX
        if err_column not in frame.columns or column.endswith(ERR_SUFFIX):
            continue
        value = frame[column].to_numpy(dtype=float)
        err = np.nan_to_num(frame[err_column].to_numpy(dtype=float), nan=0.0).clip(min=0.0)
        drawn = value + scale * err * rng.standard_normal(len(value))
        if column.startswith(POSITIVE):
            drawn = np.where(drawn > 0, drawn, value)
        out[column] = drawn
    return out


def error_resampled(data: LabelledSet, rows: np.ndarray, resample_cfg: Mapping, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw features and labels of `rows` followed by `resample.error_copies` redrawn copies
    (`resample.error_scale` times the quoted errors); just the rows when copies is 0."""
    copies = int(resample_cfg.get("error_copies", 0) or 0)
    x, y = data.x[rows], data.y[rows]
    if copies <= 0:
        return x, y
    scale = float(resample_cfg.get("error_scale", 1.0))
    rng = np.random.default_rng(seed)
    frame = data.frame.iloc[rows]
    extra = [build_features(perturbed_frame(frame, rng, scale), data.spec).to_numpy(dtype=float) for _ in range(copies)]
    return np.concatenate([x, *extra]), np.concatenate([y] * (copies + 1))
