"""The canonical catalog columns: the names a data YAML maps its file's columns to
(`columns: {canonical: column in the file}`), in named groups that features and value checks share.
"""

from __future__ import annotations

from collections.abc import Sequence

#: 4XMM EPIC flux bands 1-5 (0.2-0.5, 0.5-1, 1-2, 2-4.5, 4.5-12 keV)
EPIC_BANDS = ("flux_b1", "flux_b2", "flux_b3", "flux_b4", "flux_b5")
#: CSC soft, medium and hard flux bands (0.5-1.2, 1.2-2, 2-7 keV)
CSC_BANDS = ("flux_soft", "flux_medium", "flux_hard")
#: total-band flux and the detections' flux range (4XMM `SC_EP_8_FMIN`/`FMAX`)
TOTAL_FLUX = ("flux_total", "flux_min", "flux_max")
#: 4XMM hardness ratios between consecutive EPIC bands
XMM_HARDNESS = ("hr1", "hr2", "hr3", "hr4")
#: optical and infrared magnitudes (Gaia, 2MASS, WISE)
MAGNITUDES = ("gaia_g", "gaia_bp", "gaia_rp", "j", "h", "k", "w1", "w2", "w3")
#: timing features of a light curve (xnet.data.lightcurves.timing), where the data has them
TIMING = ("lc_fvar", "lc_ls_power", "lc_ls_log_period", "lc_flares", "lc_present")


def errors_of(names: Sequence[str]) -> tuple[str, ...]:
    """The 1-sigma error columns of `names` (`flux_soft` -> `flux_soft_err`)."""
    return tuple(f"{name}_err" for name in names)


#: catalog inputs the shipped data YAMLs map to (a user's catalog may add more)
CANONICAL_COLUMNS = {
    *EPIC_BANDS,
    *TOTAL_FLUX,
    "rate_total",
    *CSC_BANDS,
    *errors_of(CSC_BANDS),
    "flux_total_err",
    *XMM_HARDNESS,
    *errors_of(XMM_HARDNESS),
    "chi2prob",
    "fvar",
    "fvar_err",
    "var_flag",
    "extent",
    "ext_ml",
    "det_ml",
    "sum_flag",
    "poserr",
    "snr",
    "n_detections",
    "p_intra",
    "p_inter",
    *MAGNITUDES,
    *errors_of(MAGNITUDES),
    "dist",
    "parallax",
    "parallax_err",
    "pm",
    "fx_fo",
    *errors_of(EPIC_BANDS),
    *TIMING,
}
