"""The labelled set a run trains on: the catalog's rows, features and classes, selected.

Everything here is a selection, not a fit: rows, features and classes are chosen from the whole
catalog before splitting (`xnet.data.splits`); nothing is learned from the rows' values.
Duplicate sources (`xnet.data.duplicates`) are found and reported here; the splits keep their
copies together.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xnet.data.catalog import LABEL, SOURCE_ID, Catalog, check_class_names, load_catalog
from xnet.data.duplicates import Duplicates, find_duplicates
from xnet.data.extreme import apply_extreme_values, unread_counts, unread_message
from xnet.data.features import FeatureSpec, build_features, resolve_features
from xnet.errors import XnetError

log = logging.getLogger(__name__)

#: features one instrument's catalogs have and the other's never do; a feature set lists both so
#: that it serves XMM and Chandra catalogs alike
INSTRUMENT_FEATURES = {
    "XMM-Newton": ("hr1", "hr2", "hr3", "hr4", "chi2prob", "fvar", "extent"),
    "Chandra": ("hr_ms", "hr_hm", "hr_hms", "p_intra", "p_inter"),
}


def missing_features(skipped: list[str], used: list[str]) -> tuple[list[str], list[str]]:
    """(features the set asked for and the catalog could not give, other instruments' features):
    a skipped feature belongs to another instrument when the catalog gives none of that
    instrument's features; those are expected and not worth a log line."""
    other = [
        f
        for names in INSTRUMENT_FEATURES.values()
        if not set(names) & set(used)
        for f in skipped
        if f in names
    ]
    return [f for f in skipped if f not in other], other


@dataclass
class LabelledSet:
    """Raw (unscaled, NaN-bearing) features, integer labels and the class names they index."""

    catalog: Catalog
    spec: FeatureSpec
    x: np.ndarray  # float64, rows x spec.columns
    y: np.ndarray  # int64 codes into `classes`
    classes: list[str]
    frame: pd.DataFrame  # the catalog rows kept, canonical columns
    inputs: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # extra named per-row arrays (data.inputs)
    duplicates: Duplicates | None = None  # duplicate ids / identical rows; .groups for the splits
    lightcurves: dict | None = None  # how light curves became inputs (xnet.data.lightcurves.join)
    warnings: list[str] = field(
        default_factory=list
    )  # warnings logged while selecting (metrics.json)

    @property
    def groups(self) -> np.ndarray | None:
        """Split groups (all copies of a source share one) when the catalog has duplicates, else
        None."""
        return self.duplicates.groups if self.duplicates is not None else None

    @property
    def feature_names(self) -> list[str]:
        return self.spec.columns


def drop_small_classes(labels: pd.Series, min_count: int) -> pd.Series:
    """Mask of rows whose class has at least `min_count` sources; one warning names the others."""
    counts = labels.value_counts()
    small = counts[counts < min_count]
    if len(small):
        listed = ", ".join(f"{c} ({n})" for c, n in small.items())
        log.warning(
            "classes with fewer than %d sources are left out (too few to split and resample): %s; "
            "lower split.min_class_count to keep them",
            min_count,
            listed,
        )
    return labels.isin(counts[counts >= min_count].index)


def prepare_labelled_set(
    data_cfg: Mapping, features_cfg: Mapping, min_class_count: int
) -> LabelledSet:
    """The labelled set of the catalog a data YAML describes, under a feature set: its raw
    features, class codes and the warnings said about it (logged once, kept for metrics.json)."""
    catalog, lightcurves, frame, found = _read_catalog(data_cfg)
    spec = _resolve_spec(features_cfg, frame, catalog.name)
    frame, features = _feature_table(frame, spec, catalog)
    keep = drop_small_classes(frame[LABEL], int(min_class_count))
    frame, features = frame[keep], features[keep]
    classes = sorted(frame[LABEL].unique())
    if len(classes) < 2:
        raise XnetError(
            f"{catalog.path}: fewer than two classes with at least {min_class_count} sources"
        )
    check_class_names(classes, path=catalog.path, column=str(data_cfg.get("label")))
    y = pd.Categorical(frame[LABEL].to_numpy(dtype=object), categories=classes).codes.astype(
        np.int64
    )
    kept = frame.index.to_numpy()  # rows of catalog.frame
    frame = frame.reset_index(drop=True)
    x = features.to_numpy(dtype=float)
    duplicates = find_duplicates(
        frame[SOURCE_ID] if SOURCE_ID in frame else pd.Series([None] * len(frame)), x
    )
    said = [duplicates.message(str(catalog.path))] if duplicates.any else []
    for message in said:  # rows that only share their feature values are split apart: a note
        (log.warning if duplicates.groups is not None else log.info)("%s", message)
    late = missing_feature_warnings(x[:, : len(spec.features)], y, classes)
    for message in found + late:
        log.warning("%s", message)
    found += said + late
    return LabelledSet(
        catalog=catalog,
        spec=spec,
        x=x,
        y=y,
        classes=classes,
        frame=frame,
        inputs={
            **extra_inputs(data_cfg.get("inputs"), frame),
            **(lightcurves.inputs(kept) if lightcurves is not None else {}),
        },
        lightcurves=lightcurves.settings.to_dict() if lightcurves is not None else None,
        duplicates=duplicates,
        warnings=found,
    )


def _read_catalog(data_cfg: Mapping):
    """(catalog, its light curves or None, the canonical frame with `data.extreme_values`
    applied, the notes said about the values read)."""
    from xnet.data.generated import ensure_generated
    from xnet.data.lightcurves.join import attach_lightcurves

    ensure_generated(data_cfg)  # a simulated set (data.generate) is written on first use
    catalog = load_catalog(data_cfg, labelled=True)
    lightcurves = attach_lightcurves(data_cfg, catalog)  # data.lightcurves: timing columns, inputs
    if lightcurves is not None:
        catalog.frame = pd.concat([catalog.frame, lightcurves.columns], axis=1)
    notes = catalog.notes + unread_message(
        unread_counts(catalog.frame, catalog.columns), catalog.path
    )
    frame, extreme = apply_extreme_values(
        catalog.frame, catalog.columns, data_cfg.get("extreme_values"), catalog.path
    )
    return catalog, lightcurves, frame, notes + extreme


def _resolve_spec(features_cfg: Mapping, frame: pd.DataFrame, catalog_name: str) -> FeatureSpec:
    """The feature set resolved against the catalog's columns; what it lacks is logged (debug)."""
    spec = resolve_features(features_cfg, [c for c in frame.columns if c != LABEL])
    wanted_missing, other_instrument = missing_features(spec.skipped, spec.features)
    if wanted_missing:
        log.debug(  # expected: feature sets list both instruments' variants (rate, flux)
            "feature set '%s': catalog '%s' does not provide %s",
            spec.name,
            catalog_name,
            ", ".join(wanted_missing),
        )
    if other_instrument:
        log.debug(
            "feature set '%s': %s are another instrument's features",
            spec.name,
            ", ".join(other_instrument),
        )
    return spec


def _feature_table(
    frame: pd.DataFrame, spec: FeatureSpec, catalog: Catalog
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows kept, their features): all rows, or those with every feature under
    `features.drop_missing`. A feature missing for every source is an error naming it."""
    features = build_features(frame, spec)
    if spec.drop_missing:
        complete = features.notna().all(axis=1)
        log.info(
            "features.drop_missing: %d of %d sources have every feature",
            int(complete.sum()),
            len(frame),
        )
        frame, features = frame[complete], features[complete]
    all_nan = [c for c in spec.features if features[c].isna().all()]
    if all_nan:
        raise XnetError(
            f"{catalog.path}: feature {', '.join(map(repr, all_nan))} is missing for every "
            f"source; check the column mapping of data '{catalog.name}' or drop it from feature "
            f"set '{spec.name}'"
        )
    return frame, features


#: a class whose rows miss more than this share of the model's features gets a warning
MOSTLY_MISSING = 0.5


def missing_feature_warnings(features: np.ndarray, y: np.ndarray, classes: list[str]) -> list[str]:
    """One warning per class whose rows mostly miss the model's features (the missing-values
    table's per-class shares): the network could learn such a class from missingness alone."""
    out = []
    for code, name in enumerate(classes):
        rows = features[y == code]
        share = float(np.isnan(rows).mean()) if rows.size else 0.0
        if share > MOSTLY_MISSING:
            out.append(
                f"class {name!r}: {share:.0%} of its feature values are missing ({len(rows)} "
                f"sources, {features.shape[1]} features); the model may recognise it by "
                f"missingness alone (see missing_values.csv)"
            )
    return out


def extra_inputs(specs: Mapping | None, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """`data.inputs: {name: {_target_: loader, ...}}`: each loader is called with the kept catalog
    rows (`frame=`) and returns one array row per source (a binned light curve, ...), which the
    model's encoder of the same name reads (`model.encoders`)."""
    if not specs:
        return {}
    from hydra.utils import instantiate

    out = {}
    for name, spec in dict(specs).items():
        values = np.asarray(instantiate(spec, frame=frame), dtype=np.float32)
        if len(values) != len(frame):
            raise XnetError(f"data.inputs.{name}: {len(values)} rows for {len(frame)} sources")
        out[str(name)] = values
    return out
