"""Simulated light curves written in the formats xnet reads (xnet.data.lightcurves).

- `write_xmm_file`: an XMM-Newton EPIC source time series (`SRCTSR`) as the pipeline names and
  lays it out: primary header, `RATE` (TIME at the bin start with TIMEPIXR = 0, RATE, ERROR, BACKV,
  BACKE, FRACEXP; NaN where a bin has no exposure), `SRC_GTIS` and a wider `BKG_GTIS`; gzipped
  (`.FTZ`). `leading_tables` puts unrelated tables before `RATE` (the rate table in a later HDU).
- `write_csc_file`: a Chandra Source Catalog `lc3.fits`: `LIGHTCURVE` with bins of varying width
  (TIME_MIN, TIME_MAX, TIME, COUNT_RATE, COUNT_RATE_ERR, MINUS_3SIG, PLUS_3SIG) over good time
  only, `BKGLIGHTCURVE`, and the chip's `GTI7`.
- `write_long_table`: one row per bin (source_id, time, rate, rate_err, band, frac_exp) as CSV,
  Parquet or FITS by the file's suffix.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.testing.lightcurves.observations import SimulatedCurve

#: XMM-Newton's MJD reference (1998-01-01 TT) and Chandra's (1998-01-01 TT)
MJDREF = 50814.0


def xmm_name(obsid: str, src_num: int, band: str = "8", inst: str = "PN") -> str:
    return f"P{obsid}{inst}S003SRCTSR{band}{int(src_num):03X}.FTZ"


def csc_name(obsid: int, region: int, band: str = "b") -> str:
    return f"acisf{int(obsid):05d}_000N021_r{int(region):04d}{band}_lc3.fits"


def _gti_hdu(gti: np.ndarray, name: str):
    from astropy.io import fits

    cols = [
        fits.Column("START", "D", "s", array=gti[:, 0]),
        fits.Column("STOP", "D", "s", array=gti[:, 1]),
    ]
    return fits.BinTableHDU.from_columns(cols, name=name)


def _write(hdul, path: Path) -> Path:
    buffer = io.BytesIO()
    hdul.writeto(buffer)
    data = buffer.getvalue()
    if path.suffix.upper() in (".FTZ", ".GZ"):
        data = gzip.compress(data, compresslevel=1, mtime=0)
    path.write_bytes(data)
    return path


def write_xmm_file(
    path: str | Path, curve: SimulatedCurve, obsid: str, src_num: int, leading_tables: int = 0
) -> Path:
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    for key, value in (("TELESCOP", "XMM"), ("INSTRUME", "EPN"), ("OBS_ID", obsid)):
        primary.header[key] = value
    primary.header["SRC_NUM"] = int(src_num)
    primary.header["OBJECT"] = curve.source_id
    rate, error = curve.rate, curve.error
    background = np.where(curve.exposure > 0, curve.background, np.nan)
    columns = [
        fits.Column("TIME", "D", "s", array=curve.time - curve.dt / 2),
        fits.Column("RATE", "E", "count/s", array=rate),
        fits.Column("ERROR", "E", "count/s", array=error),
        fits.Column("BACKV", "E", "count/s", array=background),
        fits.Column("BACKE", "E", "count/s", array=background * 0.1),
        fits.Column("FRACEXP", "E", array=curve.frac_exp),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="RATE")
    header = table.header
    header["HDUCLAS1"], header["HDUCLAS2"] = "LIGHTCURVE", "NET"
    header["TIMEDEL"], header["TIMEPIXR"] = curve.dt, 0.0
    if len(curve.time):
        header["TSTART"] = curve.time[0] - curve.dt / 2
        header["TSTOP"] = curve.time[-1] + curve.dt / 2
    header["MJDREF"], header["TIMESYS"], header["TIMEUNIT"] = MJDREF, "TT", "s"
    other = [
        fits.BinTableHDU.from_columns([fits.Column("X", "E", array=[0.0])], name=f"AUX{i}")
        for i in range(leading_tables)
    ]
    wider = curve.gti[[0, -1], [0, 1]][None, :] + np.array([[-100.0, 100.0]])
    hdul = fits.HDUList(
        [primary, *other, table, _gti_hdu(curve.gti, "SRC_GTIS"), _gti_hdu(wider, "BKG_GTIS")]
    )
    return _write(hdul, Path(path))


def csc_bins(curve: SimulatedCurve, rng: np.random.Generator) -> list[np.ndarray]:
    """Groups of 1-4 consecutive exposed bins: a Chandra light curve's bins of varying width."""
    exposed = np.flatnonzero(curve.exposure > 0)
    groups, i = [], 0
    while i < len(exposed):
        size = int(rng.integers(1, 5))
        group = exposed[i : i + size]
        breaks = np.flatnonzero(np.diff(group) > 1)  # a gap ends a bin
        group = group[: breaks[0] + 1] if len(breaks) else group
        groups.append(group)
        i += len(group)
    return groups


def write_csc_file(path: str | Path, curve: SimulatedCurve, rng: np.random.Generator) -> Path:
    from astropy.io import fits

    groups = csc_bins(curve, rng)
    low = np.array([curve.time[g[0]] - curve.dt / 2 for g in groups])
    high = np.array([curve.time[g[-1]] + curve.dt / 2 for g in groups])
    counts = np.array([curve.counts[g].sum() for g in groups])
    exposure = np.array([curve.exposure[g].sum() for g in groups])
    rate = counts / exposure - curve.background
    error = np.sqrt(np.maximum(counts, 1)) / exposure

    def table(name: str, values: np.ndarray, errors: np.ndarray):
        columns = [
            fits.Column("TIME_MIN", "D", "s", array=low),
            fits.Column("TIME_MAX", "D", "s", array=high),
            fits.Column("TIME", "D", "s", array=(low + high) / 2),
            fits.Column("COUNT_RATE", "E", "count/s", array=values),
            fits.Column("COUNT_RATE_ERR", "E", "count/s", array=errors),
            fits.Column("MINUS_3SIG", "E", "count/s", array=values - 3 * errors),
            fits.Column("PLUS_3SIG", "E", "count/s", array=values + 3 * errors),
        ]
        hdu = fits.BinTableHDU.from_columns(columns, name=name)
        hdu.header["MJDREF"] = MJDREF
        return hdu

    background = np.full(len(groups), curve.background)
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"], primary.header["INSTRUME"] = "CHANDRA", "ACIS"
    primary.header["OBJECT"] = curve.source_id
    hdul = fits.HDUList(
        [
            primary,
            table("LIGHTCURVE", rate, error),
            table("BKGLIGHTCURVE", background, background * 0.1),
            _gti_hdu(curve.gti, "GTI7"),
        ]
    )
    return _write(hdul, Path(path))


def long_rows(curves: Iterable[SimulatedCurve], band: str = "0.2-12 keV") -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "source_id": c.source_id,
                "time": c.time,
                "rate": c.rate,
                "rate_err": c.error,
                "band": band,
                "frac_exp": c.frac_exp,
            }
        )
        for c in curves
    ]
    return pd.concat(parts, ignore_index=True)


def write_long_table(path: str | Path, curves: Iterable[SimulatedCurve]) -> Path:
    """One row per bin of every curve; CSV, Parquet or FITS by the suffix."""
    path = Path(path)
    frame = long_rows(curves)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif suffix in (".fits", ".fit"):
        from astropy.table import Table

        table = Table.from_pandas(frame.astype({"source_id": str, "band": str}))
        table.write(path, format="fits", overwrite=True)
    else:
        raise ValueError(f"{path}: write .csv, .parquet or .fits")
    return path
