"""An observation of a simulated source: good time intervals with gaps, fractional exposure,
Poisson counts over a background, net rates and their errors.

- Length 10-50 ks (log-uniform), bins of 50 or 100 s, starting at an XMM-like mission time.
- Half of the observations lose 1-3 stretches of 2-12 % of their length (background flares cut by
  the pipeline); bins straddling a gap edge keep the exposed share, 5 % of bins lose some exposure
  at random; bins with no exposure have a NaN rate and error (as the pipeline writes them).
- counts ~ Poisson((source + background) x exposure); net rate = counts / exposure - background;
  error = sqrt(max(counts, 1)) / exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xnet.testing.lightcurves.variability import true_rate

#: XMM-Newton mission times of the 2010s (s since 1998.0)
MISSION_START = 4.0e8


@dataclass
class SimulatedCurve:
    source_id: str
    cls: str
    time: np.ndarray  # bin centres [s]
    dt: float
    counts: np.ndarray  # source + background counts per bin
    exposure: np.ndarray  # exposed seconds per bin (dt x fractional exposure)
    background: float  # count/s in the source region
    gti: np.ndarray  # (k, 2) [s]

    @property
    def frac_exp(self) -> np.ndarray:
        return self.exposure / self.dt

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.where(
                self.exposure > 0, self.counts / self.exposure - self.background, np.nan
            )

    @property
    def error(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.where(
                self.exposure > 0, np.sqrt(np.maximum(self.counts, 1)) / self.exposure, np.nan
            )


def good_time_intervals(start: float, stop: float, rng: np.random.Generator) -> np.ndarray:
    """[start, stop] with 0-3 random gaps cut out (none in half of the observations)."""
    length = stop - start
    gaps = []
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            width = rng.uniform(0.02, 0.12) * length
            begin = rng.uniform(start + 0.05 * length, stop - 0.05 * length - width)
            gaps.append((begin, begin + width))
    intervals, cursor = [], start
    for begin, end in sorted(gaps):
        if begin > cursor:
            intervals.append((cursor, begin))
        cursor = max(cursor, end)
    if stop > cursor:
        intervals.append((cursor, stop))
    return np.asarray(intervals, float)


def exposed_share(edges: np.ndarray, gti: np.ndarray) -> np.ndarray:
    """The share of each bin (between consecutive `edges`) that lies in the GTIs."""
    low, high = edges[:-1, None], edges[1:, None]
    overlap = np.clip(np.minimum(high, gti[None, :, 1]) - np.maximum(low, gti[None, :, 0]), 0, None)
    return overlap.sum(axis=1) / (edges[1:] - edges[:-1])


def observe(source_id: str, cls: str, mean_rate: float, rng: np.random.Generator) -> SimulatedCurve:
    """One simulated observation of a source of class `cls` with mean net rate `mean_rate`."""
    length = 10 ** rng.uniform(4.0, np.log10(5e4))
    dt = float(rng.choice([50.0, 100.0]))
    n = max(int(length // dt), 8)
    start = MISSION_START + rng.uniform(0, 4e8)
    edges = start + dt * np.arange(n + 1)
    time = (edges[:-1] + edges[1:]) / 2
    gti = good_time_intervals(edges[0], edges[-1], rng)
    share = exposed_share(edges, gti)
    dips = rng.random(n) < 0.05
    share = np.where(dips, share * rng.uniform(0.4, 0.95, n), share)
    exposure = dt * share
    background = 0.05 * mean_rate + 0.002
    expected = (mean_rate * true_rate(cls, time - start, dt, rng) + background) * exposure
    counts = rng.poisson(expected).astype(float)
    return SimulatedCurve(source_id, cls, time, dt, counts, exposure, background, gti)
