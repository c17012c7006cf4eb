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

from collections.abc import Mapping

import numpy as np
import pandas as pd

from xnet.data.features import build_features
from xnet.data.labelled import LabelledSet

#: canonical columns that must stay positive when redrawn
POSITIVE = ("flux_", "rate_")
ERR_SUFFIX = "_err"


def perturbed_frame(
    frame: pd.DataFrame, rng: np.random.Generator, scale: float = 1.0
) -> pd.DataFrame:
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


#: A_band / A_V (Wang & Chen 2019, ApJ 877, 116) and A_V = N_H / 2.21e21 cm^-2 (Guver & Ozel 2009)
EXTINCTION_PER_AV = {
    "gaia_g": 0.789,
    "gaia_bp": 1.002,
    "gaia_rp": 0.589,
    "j": 0.243,
    "h": 0.131,
    "k": 0.078,
    "w1": 0.039,
    "w2": 0.026,
    "w3": 0.040,
}
NH_PER_AV = 2.21e21
#: Chandra bands [keV] of the canonical band fluxes
X_BANDS = {"flux_soft": (0.5, 1.2), "flux_medium": (1.2, 2.0), "flux_hard": (2.0, 7.0)}
#: counterparts fainter than these are not detected (Gaia G/BP/RP, 2MASS, WISE; approximate limits)
DETECTION_LIMIT = {
    "gaia_g": 21.0,
    "gaia_bp": 21.0,
    "gaia_rp": 20.5,
    "j": 17.0,
    "h": 16.5,
    "k": 16.0,
    "w1": 18.0,
    "w2": 17.0,
    "w3": 13.0,
}


def band_transmission(
    nh: np.ndarray, low: float, high: float, photon_index: float = 1.8
) -> np.ndarray:
    """Energy-flux-weighted photoelectric transmission of a power law through N_H over a band,
    with the cross-section approximated as 2.4e-22 (E / keV)^(-8/3) cm^2 (Morrison & McCammon
    1983)."""
    energy = np.linspace(low, high, 64)
    weight = energy ** (1 - photon_index)
    sigma = 2.4e-22 * energy ** (-8 / 3)
    return (np.exp(-np.outer(nh, sigma)) * weight).sum(axis=1) / weight.sum()


def reddened(
    frame: pd.DataFrame, rng: np.random.Generator, log_nh: tuple[float, float]
) -> pd.DataFrame:
    """The sources seen through a random Galactic column N_H (log-uniform): X-ray bands absorbed,
    optical/IR magnitudes extinguished, counterparts beyond the survey limits lost (MUWCLASS's
    reddened-AGN oversampling: AGN behind the Galactic plane)."""
    out = frame.copy()
    nh = 10 ** rng.uniform(*log_nh, len(frame))
    before = sum(frame[c].fillna(0) for c in X_BANDS if c in frame)
    for column, (low, high) in X_BANDS.items():
        if column in frame:
            factor = band_transmission(nh, low, high)
            out[column] = frame[column] * factor
            if column + ERR_SUFFIX in frame:
                out[column + ERR_SUFFIX] = frame[column + ERR_SUFFIX] * factor
    if "flux_total" in frame and all(c in frame for c in X_BANDS):
        after = sum(out[c].fillna(0) for c in X_BANDS)
        out["flux_total"] = frame["flux_total"] * (after / before.where(before > 0))
    a_v = nh / NH_PER_AV
    for column, per_av in EXTINCTION_PER_AV.items():
        if column in frame:
            mag = frame[column] + per_av * a_v
            out[column] = mag.where(mag <= DETECTION_LIMIT[column])
    return out


def error_resampled(
    data: LabelledSet, rows: np.ndarray, resample_cfg: Mapping, seed: int, with_parents=False
) -> tuple[np.ndarray, ...]:
    """Raw features and labels of `rows`, followed by `resample.error_copies` copies redrawn within
    `resample.error_scale` times the quoted errors, and by `resample.reddened_agn_copies` copies of
    the AGN among them seen through N_H from 10^`reddened_log_nh`[0] to 10^[1] cm^-2. With
    `with_parents`, also each output row's source row (for its extra inputs: a light curve)."""
    copies = int(resample_cfg.get("error_copies", 0) or 0)
    agn_copies = int(resample_cfg.get("reddened_agn_copies", 0) or 0)
    x, y = data.x[rows], data.y[rows]
    if copies <= 0 and agn_copies <= 0:
        return (x, y, np.asarray(rows)) if with_parents else (x, y)
    rng = np.random.default_rng(seed)
    frame = data.frame.iloc[rows]
    xs, ys, parents = [x], [y], [np.asarray(rows)]
    scale = float(resample_cfg.get("error_scale", 1.0))
    for _ in range(max(copies, 0)):
        xs.append(
            build_features(perturbed_frame(frame, rng, scale), data.spec).to_numpy(dtype=float)
        )
        ys.append(y)
        parents.append(np.asarray(rows))
    if agn_copies > 0 and "AGN" in data.classes:
        agn = y == data.classes.index("AGN")
        log_nh = tuple(float(v) for v in resample_cfg.get("reddened_log_nh", (21.0, 22.5)))
        for _ in range(agn_copies):
            xs.append(
                build_features(reddened(frame[agn], rng, log_nh), data.spec).to_numpy(dtype=float)
            )
            ys.append(y[agn])
            parents.append(np.asarray(rows)[agn])
    out = np.concatenate(xs), np.concatenate(ys)
    return (*out, np.concatenate(parents)) if with_parents else out
