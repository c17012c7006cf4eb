"""One light curve as a stingray `Lightcurve`, checked on the way in.

Every reader (`long_table`, `products`) ends here, so the checks and their one-line errors are the
same for every format: a series with no bins, times that are not finite or not increasing, bad GTIs.
NaN rates are allowed: they are bins without data (gaps), as the XMM-Newton pipeline writes them.

The object is stingray's (`counts` holds rate x dt, `countrate` the rate, `countrate_err` its
error, `gti` the good time intervals); two per-bin arrays ride along as stingray array attributes:
`frac_exp` (fractional exposure, 1 where the file has none) and `bin_width` (seconds; per bin,
since a Chandra light curve's bins may differ in width). `source_id`, `band` and `path` say where
it came from.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from xnet.errors import XnetError


def import_stingray():
    """stingray's Lightcurve and GTI checker, imported on first use (the package takes ~2 s and
    warns that numba is missing; the numba-free code paths are the ones used here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stingray import Lightcurve
        from stingray.gti import check_gtis
    return Lightcurve, check_gtis


def where(path, source) -> str:
    """`file (source X)` for messages: the file, and the source when a file holds several."""
    return f"{path} (source {source!r})" if source is not None else str(path)


def check_times(time: np.ndarray, path, source) -> None:
    """Zero-length series, non-finite or unsorted times: one line naming the file and source."""
    here = where(path, source)
    if len(time) == 0:
        raise XnetError(f"{here}: light curve has no time bins (zero-length series); remove it")
    bad = ~np.isfinite(time)
    if bad.any():
        raise XnetError(
            f"{here}: time of bin {int(np.flatnonzero(bad)[0])} is not finite ({time[bad][0]}); "
            f"every bin needs a time"
        )
    step = np.diff(time)
    if (step <= 0).any():
        i = int(np.flatnonzero(step <= 0)[0])
        kind = "repeats" if step[i] == 0 else "goes back"
        raise XnetError(
            f"{here}: times are not increasing: bin {i + 1} ({time[i + 1]}) {kind} after bin {i} "
            f"({time[i]}); sort the light curve by time and drop repeated bins"
        )


def bin_widths(time: np.ndarray, dt) -> np.ndarray:
    """Per-bin widths: `dt` (a number or one per bin), else the median spacing of the times."""
    if dt is None:
        dt = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    widths = np.broadcast_to(np.asarray(dt, dtype=float), time.shape).astype(float)
    return widths


def make_lightcurve(
    time,
    rate,
    error=None,
    *,
    dt=None,
    gti=None,
    frac_exp=None,
    mjdref: float = 0.0,
    path: str | Path = "",
    source: str | None = None,
    band: str | None = None,
):
    """A checked stingray `Lightcurve` of bin-centre `time` (s), `rate` and its `error` (count/s).
    Without `gti`, the whole span of the bins is good time."""
    time = np.asarray(time, dtype=float)
    check_times(time, path, source)
    rate = np.asarray(rate, dtype=float)
    error = np.full_like(rate, np.nan) if error is None else np.asarray(error, dtype=float)
    widths = bin_widths(time, dt)
    if not (np.isfinite(widths) & (widths > 0)).all():
        raise XnetError(f"{where(path, source)}: time bin widths must be positive, got {dt!r}")
    if gti is None or len(gti) == 0:
        gti = [[time[0] - widths[0] / 2, time[-1] + widths[-1] / 2]]
    gti = np.asarray(gti, dtype=float).reshape(-1, 2)
    Lightcurve, check_gtis = import_stingray()
    try:
        check_gtis(gti)
    except (ValueError, TypeError) as err:
        raise XnetError(f"{where(path, source)}: bad good time intervals (GTI): {err}") from None
    lc = Lightcurve(
        time,
        rate,
        err=error,
        input_counts=False,
        gti=gti,
        dt=float(np.median(widths)),
        mjdref=float(mjdref),
        skip_checks=True,
    )
    exposure = np.ones_like(rate) if frac_exp is None else np.asarray(frac_exp, dtype=float)
    lc.frac_exp = np.nan_to_num(exposure, nan=0.0).clip(min=0.0)
    lc.bin_width = widths
    lc.source_id, lc.band, lc.path = source, band, str(path)
    return lc


def good_time(lc) -> float:
    """Seconds of good time (the GTIs' total length)."""
    return float(np.sum(lc.gti[:, 1] - lc.gti[:, 0]))
