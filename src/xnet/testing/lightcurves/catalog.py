"""Catalog features of simulated sources: hardness ratios HR1-HR4 and the 0.2-12 keV flux.

Per class, a mean and a spread for each hardness ratio and for log10 flux, loosely after the
classes' spectra: soft coronal stars, hard absorbed X-ray binaries, and CVs drawn inside the AGN
region of the hardness plane (the founding study's finding), YSOs between stars and AGN. The
catalog alone therefore cannot tell CVs from AGN, nor the X-ray binaries and neutron stars well
apart: that is what the light curves are for in the demo. No variability columns (the 4XMM
`SC_FVAR`, `SC_CHI2PROB`) are simulated, so the catalog-only model has no timing information.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: class -> (HR1..HR4 means, their spread, log10 flux mean [erg/cm2/s], its spread)
HARDNESS = {
    "AGN": ((0.30, -0.10, -0.30, -0.40), 0.18, -13.9, 0.5),
    "CV": ((0.32, -0.05, -0.28, -0.38), 0.18, -13.6, 0.5),
    "YSO": ((0.40, -0.25, -0.50, -0.55), 0.20, -13.7, 0.5),
    "LM-STAR": ((0.05, -0.55, -0.75, -0.75), 0.18, -13.5, 0.5),
    "HM-STAR": ((0.15, -0.40, -0.60, -0.65), 0.18, -13.2, 0.5),
    "HMXB": ((0.65, 0.40, 0.10, -0.15), 0.22, -12.3, 0.7),
    "LMXB": ((0.60, 0.30, 0.00, -0.20), 0.22, -12.5, 0.7),
    "NS": ((0.35, 0.05, -0.15, -0.30), 0.30, -12.9, 0.7),
}
#: class shares of the demo catalog (imbalanced, AGN and stars most common, as in the study)
SHARES = {
    "AGN": 0.40,
    "LM-STAR": 0.25,
    "YSO": 0.08,
    "NS": 0.07,
    "CV": 0.07,
    "HMXB": 0.05,
    "LMXB": 0.05,
    "HM-STAR": 0.03,
}
#: mean 0.2-12 keV EPIC-pn count rate of a 1e-12 erg/cm2/s source (order of magnitude)
RATE_PER_FLUX = 3e12


def draw_classes(n: int, rng: np.random.Generator) -> np.ndarray:
    names = list(SHARES)
    shares = np.array([SHARES[c] for c in names])
    return rng.choice(np.array(names, dtype=object), size=n, p=shares / shares.sum())


def catalog_rows(classes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """HR1..HR4 (clipped to [-1, 1]), F8 (flux) and position per source of `classes`."""
    n = len(classes)
    hr = np.empty((n, 4))
    log_flux = np.empty(n)
    for cls, (means, spread, flux_mean, flux_spread) in HARDNESS.items():
        rows = classes == cls
        k = int(rows.sum())
        hr[rows] = np.asarray(means) + spread * rng.standard_normal((k, 4))
        log_flux[rows] = flux_mean + flux_spread * rng.standard_normal(k)
    frame = pd.DataFrame(np.clip(hr, -1, 1), columns=["HR1", "HR2", "HR3", "HR4"])
    frame["F8"] = 10**log_flux
    frame["sc_extent"] = 0.0
    frame["ra"] = rng.uniform(0, 360, n)
    frame["dec"] = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    frame["Class"] = classes
    return frame


def mean_rate(flux: np.ndarray) -> np.ndarray:
    """Mean net count rate of a source of this flux, kept to 0.02-5 count/s."""
    return np.clip(flux * RATE_PER_FLUX, 0.02, 5.0)
