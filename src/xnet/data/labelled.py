"""The labelled set a run trains on, and its stratified splits.

Everything here is a selection, not a fit: rows, features and classes are chosen from the whole
catalog before splitting; nothing is learned from the rows' values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from xnet.data.catalog import LABEL, Catalog, load_catalog
from xnet.errors import XnetError
from xnet.data.features import FeatureSpec, build_features, resolve_features

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
        f for names in INSTRUMENT_FEATURES.values() if not set(names) & set(used) for f in skipped if f in names
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
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # extra named per-row arrays (data.inputs)

    @property
    def feature_names(self) -> list[str]:
        return self.spec.columns


@dataclass
class Split:
    """Row indices into a LabelledSet."""

    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


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


def prepare_labelled_set(data_cfg: Mapping, features_cfg: Mapping, min_class_count: int) -> LabelledSet:
    catalog = load_catalog(data_cfg, labelled=True)
    frame = catalog.frame
    spec = resolve_features(features_cfg, [c for c in frame.columns if c != LABEL])
    wanted_missing, other_instrument = missing_features(spec.skipped, spec.features)
    if wanted_missing:
        log.info("feature set '%s': catalog '%s' does not provide %s", spec.name, catalog.name, ", ".join(wanted_missing))
    if other_instrument:
        log.debug("feature set '%s': %s are another instrument's features", spec.name, ", ".join(other_instrument))
    features = build_features(frame, spec)
    if spec.drop_missing:
        complete = features.notna().all(axis=1)
        log.info("features.drop_missing: %d of %d sources have every feature", int(complete.sum()), len(frame))
        frame, features = frame[complete], features[complete]
    all_nan = [c for c in spec.features if features[c].isna().all()]
    if all_nan:
        raise XnetError(
            f"{catalog.path}: feature {', '.join(map(repr, all_nan))} is missing for every source; "
            f"check the column mapping of data '{catalog.name}' or drop it from feature set '{spec.name}'"
        )
    keep = drop_small_classes(frame[LABEL], int(min_class_count))
    frame, features = frame[keep], features[keep]
    classes = sorted(frame[LABEL].unique())
    if len(classes) < 2:
        raise XnetError(f"{catalog.path}: fewer than two classes with at least {min_class_count} sources")
    y = pd.Categorical(frame[LABEL].to_numpy(dtype=object), categories=classes).codes.astype(np.int64)
    frame = frame.reset_index(drop=True)
    return LabelledSet(
        catalog=catalog,
        spec=spec,
        x=features.to_numpy(dtype=float),
        y=y,
        classes=classes,
        frame=frame,
        inputs=extra_inputs(data_cfg.get("inputs"), frame),
    )


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


def _train_val(train: np.ndarray, y: np.ndarray, val_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    tr, va = train_test_split(train, test_size=val_size, stratify=y[train], random_state=seed)
    return np.sort(tr), np.sort(va)


def make_splits(y: np.ndarray, split_cfg: Mapping, folds: int, seed: int) -> Iterator[Split]:
    """One seeded stratified train/test split, or StratifiedKFold when `folds` >= 2; the training
    part of each keeps a stratified validation share for early stopping."""
    rows = np.arange(len(y))
    val_size = float(split_cfg["val_size"])
    if folds and folds >= 2:
        smallest = int(np.bincount(y).min())
        if smallest < folds:
            raise XnetError(f"cv.folds={folds} needs at least {folds} sources per class (smallest has {smallest})")
        kfold = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for k, (train, test) in enumerate(kfold.split(rows, y)):
            tr, va = _train_val(train, y, val_size, seed)
            yield Split(fold=k, train=tr, val=va, test=np.sort(test))
    else:
        train, test = train_test_split(rows, test_size=float(split_cfg["test_size"]), stratify=y, random_state=seed)
        tr, va = _train_val(train, y, val_size, seed)
        yield Split(fold=0, train=tr, val=va, test=np.sort(test))


def ensemble_splits(split: Split, y: np.ndarray, val_size: float, seed: int, members: int) -> list[tuple[Split, int]]:
    """For an ensemble of `members` networks per split: network m gets its own stratified
    train/validation split of the split's training part (seed + m) and trains with seed + m; the
    test part is shared. Network 0 is exactly the single-network split."""
    if members <= 1:
        return [(split, seed)]
    outer = np.sort(np.concatenate([split.train, split.val]))
    out = []
    for m in range(members):
        train, val = _train_val(outer, y, val_size, seed + m)
        out.append((Split(fold=split.fold, train=train, val=val, test=split.test), seed + m))
    return out
