"""A light curve as a fixed-shape model input: rebinned onto a grid, with a mask, normalised.

The input of one source is a (2, bins) float32 array: channel 0 the normalised rate, 0 where the
bin has no data; channel 1 the mask, 1 where it has. A source without a light curve is all zeros
(the encoder's "no light curve" input). Two grids (`lightcurves.binning.mode`):
- `fixed_length`: `bins` equal bins over the observation's good-time span, whatever its length;
- `fixed_width`: bins of `bin_seconds` from the span's start, as many as the span needs (a variable
  length), padded with masked bins to `bins` (a longer span is cut there and counted).

Rebinning is exposure-weighted: each input bin spreads its rate uniformly over its width, weighted
by its exposure (width x fractional exposure, zero outside the GTIs, for a NaN rate or no exposure),
and an output bin's rate is its exposure-weighted mean. An output bin exposed for less than
`min_exposure` of its width is masked. This works whether the input bins are finer than the grid
(XMM's 10-100 s bins) or coarser (a Chandra light curve's wide bins), and across gaps. stingray's
rebinning (`Lightcurve.rebin`, `utils.rebin_data`) coarsens an evenly sampled curve by whole
steps and does not keep gaps empty, so this is written out here (NumPy interpolation of the
cumulative exposure); stingray's `create_gti_mask` says which bins lie in the GTIs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from xnet.errors import XnetError

MODES = ("fixed_length", "fixed_width")
NORMALISE = ("mean", "zscore", "log", "none")
#: the input's channels, in order (the mask is last: the encoders read it there)
CHANNELS = ("rate", "mask")


@dataclass(frozen=True)
class Binning:
    mode: str = "fixed_length"
    bins: int = 256
    bin_seconds: float | None = None
    normalise: str = "mean"
    min_exposure: float = 0.1
    clip: float = 10.0

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> Binning:
        values = {k: v for k, v in dict(cfg or {}).items() if k in cls.__dataclass_fields__}
        binning = cls(**values)
        binning.check()
        return binning

    def check(self) -> None:
        where = "lightcurves.binning"
        if self.mode not in MODES:
            raise XnetError(f"{where}.mode={self.mode!r}: must be one of {', '.join(MODES)}")
        if self.normalise not in NORMALISE:
            raise XnetError(
                f"{where}.normalise={self.normalise!r}: must be one of {', '.join(NORMALISE)}"
            )
        if int(self.bins) < 4:
            raise XnetError(f"{where}.bins={self.bins}: must be an integer >= 4")
        if self.mode == "fixed_width" and not (self.bin_seconds and float(self.bin_seconds) > 0):
            raise XnetError(f"{where}.bin_seconds: mode=fixed_width needs a positive bin width")
        if not 0 <= float(self.min_exposure) <= 1:
            raise XnetError(f"{where}.min_exposure={self.min_exposure}: must be in [0, 1]")

    def to_dict(self) -> dict:
        return asdict(self)


def exposure_weights(lc) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bin starts, bin stops, exposure in s, rate) of the bins: exposure is width x fractional
    exposure, zero for bins outside the GTIs or without a finite rate."""
    from xnet.data.lightcurves.records import import_stingray

    import_stingray()
    from stingray.gti import create_gti_mask

    time, width = np.asarray(lc.time, float), np.asarray(lc.bin_width, float)
    rate = np.asarray(lc.countrate, float)
    in_gti = create_gti_mask(time, lc.gti, dt=float(np.min(width)))
    good = in_gti & np.isfinite(rate) & (lc.frac_exp > 0)
    stop = np.maximum.accumulate(time + width / 2)  # overlapping bins share their overlap once
    start = np.minimum(np.maximum(time - width / 2, np.concatenate([[-np.inf], stop[:-1]])), stop)
    exposure = np.where(good, (stop - start) * np.minimum(lc.frac_exp, 1.0), 0.0)
    return start, stop, exposure, np.where(good, rate, 0.0)


def span(lc) -> tuple[float, float]:
    """The observation: from the first good time to the last, within the bins' extent."""
    width = np.asarray(lc.bin_width, float)
    first, last = lc.time[0] - width[0] / 2, lc.time[-1] + width[-1] / 2
    return max(first, float(lc.gti[0, 0])), min(last, float(lc.gti[-1, 1]))


def grid(lc, binning: Binning) -> np.ndarray:
    start, stop = span(lc)
    if binning.mode == "fixed_length":
        return np.linspace(start, stop, int(binning.bins) + 1)
    return start + float(binning.bin_seconds) * np.arange(int(binning.bins) + 1)


def rebin(lc, edges: np.ndarray, min_exposure: float) -> tuple[np.ndarray, np.ndarray]:
    """(rate, mask) on the grid `edges`: exposure-weighted means of the input bins' rates."""
    start, stop, exposure, rate = exposure_weights(lc)
    cumulative = np.concatenate([[0.0], np.cumsum(exposure)])
    weighted = np.concatenate([[0.0], np.cumsum(exposure * rate)])
    x = np.stack([start, stop], axis=1).ravel()
    e_at = np.interp(edges, x, np.stack([cumulative[:-1], cumulative[1:]], axis=1).ravel())
    m_at = np.interp(edges, x, np.stack([weighted[:-1], weighted[1:]], axis=1).ravel())
    exposed, mass = np.diff(e_at), np.diff(m_at)
    mask = exposed > max(float(min_exposure), 1e-9) * np.diff(edges)
    out = np.zeros(len(exposed))
    out[mask] = mass[mask] / exposed[mask]
    return out, mask


def normalised(rate: np.ndarray, mask: np.ndarray, how: str, clip: float) -> np.ndarray:
    """The rates of the masked-in bins on a scale shared by faint and bright sources."""
    out = np.zeros_like(rate)
    if not mask.any():
        return out
    values = rate[mask]
    mean, std = float(values.mean()), float(values.std())
    if how == "none":
        scaled = values
    elif how == "zscore" or (how == "mean" and mean <= 0):
        scaled = (values - mean) / std if std > 0 else np.zeros_like(values)
    elif how == "mean":
        scaled = values / mean - 1.0
    else:  # log: decades from the mean rate, floored at 1e-3 of it
        scaled = np.log10(np.maximum(values, 1e-3 * mean) / mean) if mean > 0 else values * 0
    out[mask] = np.clip(scaled, -clip, clip) if clip else scaled
    return out


def bin_lightcurve(lc, binning: Binning) -> tuple[np.ndarray, bool]:
    """(the (2, bins) input of one light curve, whether a fixed-width grid cut its span)."""
    edges = grid(lc, binning)
    rate, mask = rebin(lc, edges, binning.min_exposure)
    cut = binning.mode == "fixed_width" and edges[-1] < span(lc)[1]
    values = normalised(rate, mask, binning.normalise, float(binning.clip))
    return np.stack([values, mask.astype(float)]).astype(np.float32), bool(cut)


def bin_lightcurves(lcs: Sequence, binning: Binning) -> tuple[np.ndarray, int]:
    """(sources, 2, bins) inputs of `lcs` (None: no light curve, all zeros), and how many spans a
    fixed-width grid cut."""
    out = np.zeros((len(lcs), len(CHANNELS), int(binning.bins)), np.float32)
    cut = 0
    for i, lc in enumerate(lcs):
        if lc is not None:
            out[i], was_cut = bin_lightcurve(lc, binning)
            cut += was_cut
    return out, cut
