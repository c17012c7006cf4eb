"""Light curves: reading what the missions publish, and turning a light curve into model inputs.

Modules: `records` (one light curve as a stingray `Lightcurve`, checked), `long_table` (one row per
time bin: CSV, Parquet or FITS), `products` (folders of XMM-Newton EPIC `SRCTSR` and Chandra Source
Catalog `lc3` FITS files), `binning` (gaps and GTIs, a fixed grid with a mask, normalisation),
`timing` (fractional excess variance, Lomb-Scargle peak, flare count) and `join` (light curves
matched to catalog rows by id: the sequences and timing columns a run trains and predicts on).
docs/lightcurves.md says how to point xnet at one's own files.

stingray (imported on first use, ~2 s) gives the light-curve object, GTI handling, the excess
variance and the red-noise simulation of the demo; astropy reads FITS and has Lomb-Scargle.
"""

from xnet.lazy import lazy_exports

_LAZY = {
    **dict.fromkeys(["make_lightcurve"], "xnet.data.lightcurves.records"),
    **dict.fromkeys(["read_long_table"], "xnet.data.lightcurves.long_table"),
    **dict.fromkeys(["read_product", "index_folder"], "xnet.data.lightcurves.products"),
    **dict.fromkeys(
        ["Binning", "bin_lightcurve", "bin_lightcurves"], "xnet.data.lightcurves.binning"
    ),
    **dict.fromkeys(["TIMING_COLUMNS", "timing_features"], "xnet.data.lightcurves.timing"),
    **dict.fromkeys(["LightCurveSource", "attach_lightcurves"], "xnet.data.lightcurves.join"),
}
__getattr__ = lazy_exports(__name__, _LAZY)
__all__ = list(_LAZY)
