"""Data: reading catalogs, engineering features, the labelled set and its splits, scaling and
resampling (fit on training rows only), downloading catalogs, and the bundled catalogs (`bundled/`).

Modules: `tables` (one chunked reader for CSV, FITS and Parquet), `catalog` (a data YAML's columns
under canonical names), `columns` (the canonical names), `derived` and `features` (pure
functions), `labelled` (the labelled set), `splits` (stratified splits),
`preprocessing` (the scaler pipeline, SMOTE), `fetch` (downloads).
"""

from xnet.lazy import lazy_exports

_LAZY = {
    **dict.fromkeys(["Catalog", "load_catalog"], "xnet.data.catalog"),
    **dict.fromkeys(["FeatureSpec", "build_features", "resolve_features"], "xnet.data.features"),
    **dict.fromkeys(["LabelledSet", "prepare_labelled_set"], "xnet.data.labelled"),
    **dict.fromkeys(["Split", "ensemble_splits", "make_splits"], "xnet.data.splits"),
    **dict.fromkeys(
        ["fit_scaler", "resample_training_set", "scaler_from_state", "scaler_state", "transform"],
        "xnet.data.preprocessing",
    ),
    **dict.fromkeys(["iter_table_chunks", "read_table", "table_info"], "xnet.data.tables"),
}
# loaded on first use: prediction reads tables without importing scikit-learn
__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Catalog",
    "load_catalog",
    "FeatureSpec",
    "build_features",
    "resolve_features",
    "LabelledSet",
    "Split",
    "ensemble_splits",
    "make_splits",
    "prepare_labelled_set",
    "fit_scaler",
    "resample_training_set",
    "scaler_from_state",
    "scaler_state",
    "transform",
    "iter_table_chunks",
    "read_table",
    "table_info",
]
