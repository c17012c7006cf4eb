"""Simulated light curves for tests and the light-curve demo: the machinery, not astrophysics.

- `synthetic`: in-memory sequences whose level is the class (the named-input seam's test).
- `variability`: class-dependent true rates (red-noise AGN from stingray's simulator, flaring
  stars and YSOs, orbital modulation and eclipses of CVs and X-ray binaries, pulsations).
- `observations`: an observation of a true rate: good time intervals with gaps, fractional
  exposure, Poisson counts over a background.
- `catalog`: catalog features drawn so that CVs overlap AGN in the hardness plane.
- `writers`: the three formats xnet reads (XMM-Newton SRCTSR and Chandra lc3 FITS folders, a long
  table); `demo`: a whole labelled catalog with light curves (`write_demo`).

Nothing here is fitted to real sources: the classes differ by construction, so a model that uses
the light curves must beat one that does not. It shows that the pipeline works end to end, and
nothing about how much real light curves help.
"""

from xnet.lazy import lazy_exports

_LAZY = {
    **dict.fromkeys(
        ["synthetic_lightcurves", "masked_sequences"], "xnet.testing.lightcurves.synthetic"
    ),
    "true_rate": "xnet.testing.lightcurves.variability",
    "observe": "xnet.testing.lightcurves.observations",
    "catalog_rows": "xnet.testing.lightcurves.catalog",
    **dict.fromkeys(
        ["write_xmm_folder", "write_csc_folder", "write_long_table"],
        "xnet.testing.lightcurves.writers",
    ),
    **dict.fromkeys(["simulate_sources", "write_demo"], "xnet.testing.lightcurves.demo"),
}
__getattr__ = lazy_exports(__name__, _LAZY)
__all__ = list(_LAZY)
