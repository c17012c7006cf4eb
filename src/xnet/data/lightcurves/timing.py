"""Timing features of a light curve: per-source numbers that join the catalog features.

- `lc_fvar`: the fractional excess variance F_var (Vaughan et al. 2003), stingray's
  `utils.excess_variance(normalization="fvar")`; 0 where the scatter is within the errors.
- `lc_ls_power`, `lc_ls_log_period`: the highest peak of astropy's Lomb-Scargle periodogram
  (standard normalisation, the rate errors as weights) between one cycle per span and the Nyquist
  frequency of the bins, and log10 of its period in seconds.
- `lc_flares`: flares, counted as runs of at least `flare_min_bins` bins more than `flare_sigma`
  errors above the median rate (stingray's `utils.contiguous_regions` finds the runs).

Each is computed on the light curve's own good bins (in the GTIs, finite rate and error, some
exposure); a source without a light curve, or with fewer than `min_bins` good bins, has NaN (the
feature set's missing indicators say so). The features are catalog columns: a feature set lists
those it uses (conf/features/xray_timing.yaml), and they are scaled with the catalog features on
training rows only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: the timing columns a light-curve source adds to the catalog frame
TIMING_COLUMNS = ("lc_fvar", "lc_ls_power", "lc_ls_log_period", "lc_flares")
#: 1 for a source with a usable light curve, 0 without (metrics with and without one)
PRESENT = "lc_present"


@dataclass(frozen=True)
class TimingSettings:
    flare_sigma: float = 3.0
    flare_min_bins: int = 2
    samples_per_peak: int = 5
    min_bins: int = 8

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> TimingSettings:
        return cls(**{k: v for k, v in dict(cfg or {}).items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)


def good_bins(lc):
    """The light curve restricted to its good bins (stingray `apply_mask`)."""
    from xnet.data.lightcurves.binning import exposure_weights

    _, _, exposure, _ = exposure_weights(lc)
    good = (
        (exposure > 0)
        & np.isfinite(np.asarray(lc.countrate_err, float))
        & (np.asarray(lc.countrate_err) > 0)
    )
    return lc.apply_mask(good) if not good.all() else lc


def fractional_variance(lc) -> float:
    from stingray.utils import excess_variance

    with np.errstate(all="ignore"):
        fvar, _ = excess_variance(lc, normalization="fvar")
    return float(fvar) if np.isfinite(fvar) else 0.0


def lomb_scargle_peak(lc, samples_per_peak: int) -> tuple[float, float]:
    """(peak power, log10 period [s]) of the Lomb-Scargle periodogram."""
    from astropy.timeseries import LombScargle

    time, rate = np.asarray(lc.time, float), np.asarray(lc.countrate, float)
    length = time[-1] - time[0]
    step = float(np.median(np.diff(time)))
    if length <= 2 * step or np.ptp(rate) == 0:
        return 0.0, np.nan
    periodogram = LombScargle(time, rate, np.asarray(lc.countrate_err, float))
    frequency, power = periodogram.autopower(
        minimum_frequency=1.0 / length,
        maximum_frequency=0.5 / step,
        samples_per_peak=int(samples_per_peak),
    )
    best = int(np.nanargmax(power))
    return float(power[best]), float(np.log10(1.0 / frequency[best]))


def flare_count(lc, sigma: float, min_bins: int) -> int:
    from stingray.utils import contiguous_regions

    rate, err = np.asarray(lc.countrate, float), np.asarray(lc.countrate_err, float)
    high = (rate - np.median(rate)) > sigma * err
    runs = contiguous_regions(high)
    return int(np.sum((runs[:, 1] - runs[:, 0]) >= int(min_bins))) if len(runs) else 0


def timing_features(lcs: Sequence, settings: TimingSettings) -> pd.DataFrame:
    """One row of `TIMING_COLUMNS` and `PRESENT` per light curve (None: no light curve)."""
    rows = []
    for lc in lcs:
        good = good_bins(lc) if lc is not None else None
        if good is None or len(good.time) < int(settings.min_bins):
            rows.append((np.nan,) * len(TIMING_COLUMNS) + (0.0,))
            continue
        power, period = lomb_scargle_peak(good, settings.samples_per_peak)
        flares = flare_count(good, settings.flare_sigma, settings.flare_min_bins)
        rows.append((fractional_variance(good), power, period, float(flares), 1.0))
    return pd.DataFrame(rows, columns=[*TIMING_COLUMNS, PRESENT], dtype=float)
