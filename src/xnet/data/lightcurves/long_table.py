"""A long table of light curves: one row per time bin of one source (CSV, Parquet or FITS).

Columns (named in `lightcurves.columns`, matched case-insensitively as catalog columns are): the
source id, the bin time (s, bin centre), the rate and its error (count/s), and optionally the band
and the fractional exposure. Bin widths are `lightcurves.dt` seconds, else each source's median
time step. A long table has no GTIs: its gaps are the bins it does not list (or lists with a NaN
rate). Read once, whole, through the catalogs' reader (`xnet.data.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from xnet.data.ids import id_strings
from xnet.data.lightcurves.records import make_lightcurve
from xnet.data.tables import read_table, table_info
from xnet.errors import XnetError

#: canonical long-table column -> default column name in the file
LONG_COLUMNS = {
    "id": "source_id",
    "time": "time",
    "rate": "rate",
    "error": "rate_err",
    "band": None,
    "frac_exp": None,
}
REQUIRED = ("id", "time", "rate", "error")


def table_columns(path: Path, columns: Mapping | None) -> dict[str, str]:
    """canonical -> file column, for the columns the config names and the file has; a required or
    named column the file lacks is an error listing the file's columns."""
    wanted = {**LONG_COLUMNS, **dict(columns or {})}
    info = table_info(path)
    out, missing = {}, []
    for canon, name in wanted.items():
        if name is None:
            if canon in REQUIRED:
                missing.append(f"{canon} (not named)")
            continue
        found = info.find(str(name))
        if found is None:
            missing.append(f"'{name}' (for {canon})")
        else:
            out[canon] = found
    if missing:
        raise XnetError(
            f"{path}: light-curve table lacks column {', '.join(missing)} (columns in the file: "
            f"{info.seen()}); set lightcurves.columns.<id|time|rate|error|band|frac_exp>"
        )
    return out


def read_long_table(
    path: str | Path,
    columns: Mapping | None = None,
    band: str | None = None,
    dt: float | None = None,
) -> list[tuple[str, object]]:
    """(source id, stingray Lightcurve) per source of the table, in order of first appearance."""
    path = Path(path).expanduser()
    names = table_columns(path, columns)
    frame = read_table(path, list(names.values()), text=[names["id"]])
    ids = np.asarray(id_strings(frame[names["id"]].to_numpy(dtype=object)), dtype=object)
    if any(i is None for i in ids):
        row = int(np.flatnonzero([i is None for i in ids])[0])
        raise XnetError(f"{path}: row {row + 1} has no source id (column '{names['id']}')")
    keep = np.ones(len(frame), bool)
    bands = None
    if "band" in names:
        bands = np.asarray(id_strings(frame[names["band"]].to_numpy(dtype=object)), dtype=object)
        if band is not None:
            keep = bands == str(band)
            if not keep.any():
                raise XnetError(f"{path}: no rows in band {band!r} (lightcurves.band)")

    def numbers(canon: str) -> np.ndarray:
        return np.asarray(frame[names[canon]].to_numpy(dtype=float)) if canon in names else None

    time, rate, error, frac_exp = (numbers(c) for c in ("time", "rate", "error", "frac_exp"))
    out = []
    for g in source_rows(ids, keep):
        source = ids[g[0]]
        if bands is not None and band is None and len(set(bands[g])) > 1:
            raise XnetError(
                f"{path}: source {source!r} has rows in bands {', '.join(sorted(set(bands[g])))}; "
                f"choose one with lightcurves.band"
            )
        lc = make_lightcurve(
            time[g],
            rate[g],
            error[g],
            dt=dt,
            frac_exp=None if frac_exp is None else frac_exp[g],
            path=path,
            source=source,
            band=None if bands is None else bands[g[0]],
        )
        out.append((source, lc))
    return out


def source_rows(ids: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
    """The kept rows of each source (in file order), sources in order of first appearance."""
    order = np.argsort(ids[keep], kind="stable")
    rows = np.flatnonzero(keep)[order]
    groups = np.split(rows, np.flatnonzero(ids[rows][1:] != ids[rows][:-1]) + 1)
    return sorted(groups, key=lambda g: int(g.min()))
