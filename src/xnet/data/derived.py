"""Derived features: physics computed from canonical catalog columns (hardness ratios, colours,
flux ratios, luminosities), each with the columns it needs. `xnet.data.features` resolves a
feature set's names against this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xnet.data.columns import CSC_BANDS, EPIC_BANDS, errors_of


def log10_positive(values: pd.Series) -> pd.Series:
    """log10 where positive, NaN elsewhere (a zero or negative flux has no logarithm)."""
    return np.log10(values.where(values > 0))


def hardness_ratio(hard: pd.Series, soft: pd.Series) -> pd.Series:
    """(H - S) / (H + S); NaN where the sum is not positive."""
    total = hard + soft
    return ((hard - soft) / total).where(total > 0)


def log_flux_with_range(c: pd.DataFrame) -> pd.Series:
    """log10 total flux; where it is missing, the geometric mean of the detections' min/max flux.

    Lin et al. leave the total-band flux empty for about half of the sources, while the
    per-detection flux range (4XMM `SC_EP_8_FMIN`/`FMAX`) is always present and equals the flux
    for single detections.
    """
    fallback = np.sqrt(
        c["flux_min"].where(c["flux_min"] > 0) * c["flux_max"].where(c["flux_max"] > 0)
    )
    return log10_positive(c["flux_total"].fillna(fallback))


#: X-ray to optical flux ratio from the G magnitude: log(fx/fo) = log fx + G / 2.5 + 5.37
#: (the V-band zero point of Maccacaro et al. 1988, applied to Gaia G)
FX_FO_ZERO_POINT = 5.37


def hardness_ratio_error(
    hard: pd.Series, soft: pd.Series, hard_err: pd.Series, soft_err: pd.Series
) -> pd.Series:
    """1-sigma error of (H - S) / (H + S) from the band errors (first-order propagation):
    2 sqrt(S^2 sH^2 + H^2 sS^2) / (H + S)^2. Faint sources have wide errors: the network can
    learn how far to trust a hardness ratio."""
    total = hard + soft
    err = 2 * np.sqrt(soft**2 * hard_err**2 + hard**2 * soft_err**2) / total**2
    return err.where(total > 0)


#: nu F_nu [erg/cm2/s] of a zero-magnitude source, for X-ray to optical/IR flux ratios:
#: Vega zero points F_nu0 [Jy] times the band's central frequency (2MASS: Cohen et al. 2003;
#: WISE: Jarrett et al. 2011). log(Fx / F_band) = log Fx + mag / 2.5 - log10(NU_F_NU_ZERO[band]).
NU_F_NU_ZERO = {
    "j": 1594.0e-23 * 2.998e10 / 1.235e-4,
    "k": 666.7e-23 * 2.998e10 / 2.159e-4,
    "w1": 309.54e-23 * 2.998e10 / 3.4e-4,
    "w2": 171.787e-23 * 2.998e10 / 4.6e-4,
}

#: 4 pi (1 pc in cm)^2, for the X-ray luminosity from a distance in pc
FOUR_PI_PC2 = 4 * np.pi * 3.0857e18**2


def log_flux_ratio_to_band(flux: pd.Series, mag: pd.Series, band: str) -> pd.Series:
    """log10 of the X-ray flux over the band's nu F_nu."""
    return log10_positive(flux) + mag / 2.5 - np.log10(NU_F_NU_ZERO[band])


@dataclass(frozen=True)
class Derived:
    """A derived feature: the first of `ways` whose needed columns the catalog has is used."""

    ways: Sequence[tuple[tuple[str, ...], Callable[[pd.DataFrame], pd.Series]]]
    doc: str = ""

    def way_for(self, available: set[str]):
        return next((fn for needs, fn in self.ways if set(needs) <= available), None)


def _difference(a: str, b: str) -> Derived:
    return Derived([((a, b), lambda c: c[a] - c[b])], doc=f"{a} - {b}")


DERIVED: dict[str, Derived] = {
    "log_flux": Derived(
        [
            (("flux_total", "flux_min", "flux_max"), log_flux_with_range),
            (("flux_total",), lambda c: log10_positive(c["flux_total"])),
        ],
        doc="log10 total-band flux",
    ),
    "log_rate": Derived(
        [(("rate_total",), lambda c: log10_positive(c["rate_total"]))], doc="log10 count rate"
    ),
    "hr_ms": Derived(
        [(("flux_medium", "flux_soft"), lambda c: hardness_ratio(c["flux_medium"], c["flux_soft"]))]
    ),
    "hr_hm": Derived(
        [(("flux_hard", "flux_medium"), lambda c: hardness_ratio(c["flux_hard"], c["flux_medium"]))]
    ),
    "hr_hms": Derived(
        [
            (
                ("flux_soft", "flux_medium", "flux_hard"),
                lambda c: hardness_ratio(c["flux_hard"], c["flux_medium"] + c["flux_soft"]),
            )
        ],
        doc="(H - M - S) / (H + M + S), MUWCLASS's third hardness ratio",
    ),
    "bp_rp": _difference("gaia_bp", "gaia_rp"),
    "bp_g": _difference("gaia_bp", "gaia_g"),
    "g_k": _difference("gaia_g", "k"),
    "j_h": _difference("j", "h"),
    "h_k": _difference("h", "k"),
    "w1_w2": _difference("w1", "w2"),
    "log_fx_fo": Derived(
        [
            (("fx_fo",), lambda c: log10_positive(c["fx_fo"])),
            (
                ("flux_total", "gaia_g"),
                lambda c: log10_positive(c["flux_total"]) + c["gaia_g"] / 2.5 + FX_FO_ZERO_POINT,
            ),
        ],
        doc="log10 X-ray to optical flux ratio",
    ),
    "abs_g": Derived(
        [
            (
                ("gaia_g", "dist"),
                lambda c: c["gaia_g"] - 5 * np.log10(c["dist"].where(c["dist"] > 0) / 10),
            )
        ],
        doc="absolute G magnitude from the distance in pc",
    ),
    # physics features beyond the study (conf/features/xray_mw_plus.yaml)
    **{
        f"{name}_err": Derived(
            [
                (
                    (hard, soft, f"{hard}_err", f"{soft}_err"),
                    lambda c, h=hard, s=soft: hardness_ratio_error(
                        c[h], c[s], c[f"{h}_err"], c[f"{s}_err"]
                    ),
                )
            ],
            doc=f"1-sigma error of {name}",
        )
        for name, hard, soft in (
            ("hr_ms", "flux_medium", "flux_soft"),
            ("hr_hm", "flux_hard", "flux_medium"),
        )
    },
    "hr_hms_err": Derived(
        [
            (
                (*CSC_BANDS, *errors_of(CSC_BANDS)),
                lambda c: hardness_ratio_error(
                    c["flux_hard"],
                    c["flux_medium"] + c["flux_soft"],
                    c["flux_hard_err"],
                    np.sqrt(c["flux_medium_err"] ** 2 + c["flux_soft_err"] ** 2),
                ),
            )
        ],
        doc="1-sigma error of hr_hms",
    ),
    **{
        f"log_{band}": Derived(
            [((band,), lambda c, b=band: log10_positive(c[b]))], doc=f"log10 {band}"
        )
        for band in (*CSC_BANDS, *EPIC_BANDS)
    },
    "log_flux_rel_err": Derived(
        [
            (
                ("flux_total", "flux_total_err"),
                lambda c: log10_positive(
                    c["flux_total_err"] / c["flux_total"].where(c["flux_total"] > 0)
                ),
            )
        ],
        doc="log10 fractional error of the total-band flux (about -log S/N)",
    ),
    **{
        f"log_fx_f{band}": Derived(
            [
                (
                    ("flux_total", band),
                    lambda c, b=band: log_flux_ratio_to_band(c["flux_total"], c[b], b),
                )
            ],
            doc=f"log10 X-ray to {band.upper()} (nu F_nu) flux ratio",
        )
        for band in NU_F_NU_ZERO
    },
    "g_j": _difference("gaia_g", "j"),
    "g_w1": _difference("gaia_g", "w1"),
    "k_w1": _difference("k", "w1"),
    "w1_w3": _difference("w1", "w3"),
    "w2_w3": _difference("w2", "w3"),
    "log_lx": Derived(
        [
            (
                ("flux_total", "dist"),
                lambda c: log10_positive(
                    c["flux_total"] * FOUR_PI_PC2 * c["dist"].where(c["dist"] > 0) ** 2
                ),
            )
        ],
        doc="log10 X-ray luminosity [erg/s] at the (Gaia) distance",
    ),
    "parallax_snr": Derived(
        [
            (
                ("parallax", "parallax_err"),
                lambda c: c["parallax"] / c["parallax_err"].where(c["parallax_err"] > 0),
            )
        ],
        doc="parallax over its error: significant for Galactic sources, ~0 for AGN",
    ),
    "log_pm": Derived(
        [(("pm",), lambda c: log10_positive(c["pm"]))], doc="log10 proper motion [mas/yr]"
    ),
}
