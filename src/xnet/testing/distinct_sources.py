"""Larger Chandra-schema catalogs of distinct sources, for speed benchmarks that stand for users.

Drawing the bundled MUWCLASS rows with replacement repeats each source several times under one id:
xnet then splits by id while scikit-learn's `early_stopping` split validates on copies of its
training rows, so the two stop after very different numbers of epochs and a benchmark compares
stopping rules rather than speed. Here every drawn row becomes its own source: a unique id, and
every numeric value redrawn — within the catalog's quoted 1-sigma error where the row has one
(`Fs` with `e_Fs`, `Gmag` with `e_Gmag`, ...), else by a 3 % multiplicative Gaussian. Fluxes
stay positive, probabilities within [0, 1]; missing values stay missing. Seeded: same arguments,
same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from xnet.config.compose import BUNDLED_DATA_DIR

CSC_CSV = BUNDLED_DATA_DIR / "muwclass_cscv2_td.csv"
ID_COLUMN = "CSCv2_name"
#: the relative scatter of a value without a quoted error
RELATIVE_SCATTER = 0.03
#: columns that are probabilities (kept within [0, 1])
PROBABILITIES = ("P_intra", "P_inter")


def error_partner(column: str, columns) -> str | None:
    """The column holding `column`'s 1-sigma error in the MUWCLASS schema (`e_<name>`), if any."""
    partner = f"e_{column}"
    return partner if partner in columns else None


def jittered(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every numeric column redrawn: within its error where the row quotes one, else by 3 %."""
    out = frame.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        value = frame[column].to_numpy(dtype=float)
        noise = rng.standard_normal(len(value))
        drawn = value * (1.0 + RELATIVE_SCATTER * noise)
        partner = error_partner(column, frame.columns)
        if partner is not None:
            err = frame[partner].to_numpy(dtype=float)
            quoted = np.isfinite(err) & (err > 0)
            drawn = np.where(quoted, value + err * noise, drawn)
        if column in PROBABILITIES:
            drawn = np.clip(drawn, 0.0, 1.0)
        elif np.nanmin(value, initial=np.inf) > 0:  # a positive quantity (flux, error, distance)
            drawn = np.where(drawn > 0, drawn, value)
        out[column] = drawn
    return out


def distinct_sources(rows: int, seed: int = 0, source: Path = CSC_CSV) -> pd.DataFrame:
    """`rows` distinct sources drawn from `source` (with replacement), jittered, with unique ids."""
    base = pd.read_csv(source)
    rng = np.random.default_rng(seed)
    picked = base.iloc[rng.integers(0, len(base), size=rows)].reset_index(drop=True)
    out = jittered(picked, rng)
    names = picked[ID_COLUMN].to_numpy(dtype=object)
    out[ID_COLUMN] = [f"{name}#{i:07d}" for i, name in enumerate(names)]
    return out


def write_distinct_sources(path: str | Path, rows: int, seed: int = 0) -> Path:
    """Write `distinct_sources(rows, seed)` as CSV (the bundled file's columns); its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    distinct_sources(rows, seed).to_csv(path, index=False)
    return path


def bootstrap_duplicates(path: str | Path, rows: int, seed: int = 0) -> Path:
    """The old benchmark file, kept as a labelled extra: the bundled rows drawn with replacement,
    unchanged (each source about rows / 2,941 times under its own id)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.read_csv(CSC_CSV).sample(n=rows, replace=True, random_state=seed).to_csv(path, index=False)
    return path
