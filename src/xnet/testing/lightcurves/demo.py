"""A simulated labelled catalog with light curves: the light-curve demo's data.

`write_demo(folder, n_sources, seed)` writes, seeded and once (into a temporary folder renamed into
place, so a half-written set is never used):
- `catalog.csv`: `name` (the XMM-style light-curve id `<obsid>_<source number>`), `csc_id`
  (`<obsid>_<region>`), `Class`, HR1-HR4, F8, sc_extent, ra, dec;
- `xmm/`: one SRCTSR file per source with a light curve (`lightcurve_share` of them), and, as
  asked by `formats`, `csc/` (lc3 files) and `lightcurves.parquet` (the long table).
conf/data/lightcurve_demo.yaml points at it; `python -m xnet.train experiment=lightcurve_demo`
generates it into the data home on first use.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.testing.lightcurves.catalog import catalog_rows, draw_classes, mean_rate
from xnet.testing.lightcurves.observations import SimulatedCurve, observe
from xnet.testing.lightcurves.writers import (
    csc_name,
    write_csc_file,
    write_long_table,
    write_xmm_file,
    xmm_name,
)

#: sources per simulated observation (their ids share the observation)
PER_OBSERVATION = 20


def simulate_sources(
    n_sources: int, seed: int = 0, lightcurve_share: float = 0.7
) -> tuple[pd.DataFrame, dict[int, SimulatedCurve]]:
    """(the catalog, {catalog row: its simulated light curve}) for `n_sources` sources."""
    rng = np.random.default_rng(seed)
    frame = catalog_rows(draw_classes(int(n_sources), rng), rng)
    index = np.arange(len(frame))
    obs, number = 100 + index // PER_OBSERVATION, index % PER_OBSERVATION + 1
    frame.insert(0, "name", [f"0{o:07d}01_{k}" for o, k in zip(obs, number)])
    frame.insert(1, "csc_id", [f"{1000 + o}_{k}" for o, k in zip(obs, number)])
    has = rng.random(len(frame)) < float(lightcurve_share)
    rates = mean_rate(frame["F8"].to_numpy())
    streams = np.random.SeedSequence(seed).spawn(len(frame))
    curves = {
        int(i): observe(
            frame["name"][i], frame["Class"][i], rates[i], np.random.default_rng(streams[i])
        )
        for i in np.flatnonzero(has)
    }
    return frame, curves


def write_sources(
    folder: Path, frame: pd.DataFrame, curves: dict[int, SimulatedCurve], formats: Sequence[str]
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "catalog.csv", index=False)
    rng = np.random.default_rng(0)
    for fmt in formats:
        if fmt == "table":
            write_long_table(folder / "lightcurves.parquet", curves.values())
            continue
        (folder / fmt).mkdir(exist_ok=True)
        for row, curve in curves.items():
            obs, number = frame["name"][row].split("_")
            if fmt == "xmm":
                write_xmm_file(folder / "xmm" / xmm_name(obs, int(number)), curve, obs, int(number))
            elif fmt == "csc":
                cobs, region = frame["csc_id"][row].split("_")
                write_csc_file(folder / "csc" / csc_name(int(cobs), int(region)), curve, rng)
            else:
                raise ValueError(f"format {fmt!r}: one of xmm, csc, table")


def write_demo(
    folder: str | Path,
    n_sources: int = 3000,
    seed: int = 0,
    lightcurve_share: float = 0.7,
    formats: Sequence[str] = ("xmm",),
) -> Path:
    """The demo set in `folder` (written unless it is there already); returns the catalog path."""
    folder = Path(folder).expanduser()
    if (folder / "catalog.csv").exists():
        return folder / "catalog.csv"
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.partial-{np.random.default_rng().integers(1 << 30)}")
    try:
        frame, curves = simulate_sources(n_sources, seed, lightcurve_share)
        write_sources(tmp, frame, curves, list(formats))
        try:
            tmp.rename(folder)
        except OSError:  # another process wrote it first
            if not (folder / "catalog.csv").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder / "catalog.csv"
