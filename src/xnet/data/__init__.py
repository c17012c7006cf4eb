"""Data: reading catalogs, engineering features, the labelled set and its splits, scaling and
resampling (fit on training rows only), downloading catalogs, and the bundled catalogs (`bundled/`).

Modules: `tables` (one chunked reader for CSV, FITS and Parquet), `catalog` (a data YAML's columns
under canonical names), `features` (pure functions), `labelled` (labelled set, splits),
`preprocessing` (the scaler pipeline, SMOTE), `fetch` (downloads).
"""

from xnet.data.catalog import Catalog, load_catalog
from xnet.data.features import FeatureSpec, build_features, resolve_features
from xnet.data.labelled import LabelledSet, Split, ensemble_splits, make_splits, prepare_labelled_set
from xnet.data.preprocessing import fit_scaler, resample_training_set, scaler_from_state, scaler_state, transform
from xnet.data.tables import iter_table_chunks, read_table, table_info

__all__ = [
    "Catalog", "load_catalog", "FeatureSpec", "build_features", "resolve_features", "LabelledSet", "Split",
    "ensemble_splits", "make_splits", "prepare_labelled_set", "fit_scaler", "resample_training_set",
    "scaler_from_state", "scaler_state", "transform", "iter_table_chunks", "read_table", "table_info",
]
