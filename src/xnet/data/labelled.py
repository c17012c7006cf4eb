"""The labelled set a run trains on, and its stratified splits.

Everything here is a selection, not a fit: rows, features and classes are chosen from the whole
catalog before splitting; nothing is learned from the rows' values.

Duplicate sources (`xnet.data.duplicates`) are reported; when an id repeats, every split is
group-aware (CV folds: StratifiedGroupKFold; hold-out and validation shares: a stratified split of
the groups), so all copies of a source land on one side. Without duplicates
the splits are the plain stratified ones (train_test_split, StratifiedKFold), seed for seed.
Split sizes are checked before any split is drawn: each class needs enough sources (groups) for
its training part to hold two (the validation share is stratified too), and every class must be in
the training part of every split.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

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
        """Split groups (all copies of a source share one) when the catalog has duplicates, else None."""
        return self.duplicates.groups if self.duplicates is not None else None

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


def prepare_labelled_set(
    data_cfg: Mapping, features_cfg: Mapping, min_class_count: int
) -> LabelledSet:
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
    spec = resolve_features(features_cfg, [c for c in frame.columns if c != LABEL])
    wanted_missing, other_instrument = missing_features(spec.skipped, spec.features)
    if wanted_missing:
        log.debug(  # expected: feature sets list both instruments' variants (rate, flux)
            "feature set '%s': catalog '%s' does not provide %s",
            spec.name,
            catalog.name,
            ", ".join(wanted_missing),
        )
    if other_instrument:
        log.debug(
            "feature set '%s': %s are another instrument's features",
            spec.name,
            ", ".join(other_instrument),
        )
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
            f"{catalog.path}: feature {', '.join(map(repr, all_nan))} is missing for every source; "
            f"check the column mapping of data '{catalog.name}' or drop it from feature set '{spec.name}'"
        )
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
    found: list[str] = notes + extreme
    duplicates = find_duplicates(
        frame[SOURCE_ID] if SOURCE_ID in frame else pd.Series([None] * len(frame)), x
    )
    if duplicates.any:
        found.append(duplicates.message(str(catalog.path)))
        # rows that only share their feature values are split as separate sources: a note
        (log.warning if duplicates.groups is not None else log.info)("%s", found[-1])
    found += missing_feature_warnings(x[:, : len(spec.features)], y, classes)
    for message in found[1 if duplicates.any else 0 :]:
        log.warning("%s", message)
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
                f"class {name!r}: {share:.0%} of its feature values are missing ({len(rows)} sources, "
                f"{features.shape[1]} features); the model may recognise it by missingness alone (see missing_values.csv)"
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


def _held_out(
    rows: np.ndarray, y: np.ndarray, groups: np.ndarray | None, share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) rows (in the splitter's order), about `share` held out, stratified by
    class. Without groups: train_test_split of the rows. With groups: train_test_split of the
    groups, stratified by each group's class (that of its first row), so whole groups move together
    (fast where StratifiedGroupKFold would take seconds per split on thousands of groups)."""
    if groups is None:
        return tuple(train_test_split(rows, test_size=share, stratify=y[rows], random_state=seed))
    names, first, inverse = np.unique(groups[rows], return_index=True, return_inverse=True)
    _, held = train_test_split(
        np.arange(len(names)), test_size=share, stratify=y[rows][first], random_state=seed
    )
    out = np.isin(inverse, held)
    return rows[~out], rows[out]


def _train_val(
    train: np.ndarray, y: np.ndarray, val_size: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    tr, va = _held_out(train, y, groups, val_size, seed)
    return np.sort(tr), np.sort(va)


def sources_per_class(y: np.ndarray, groups: np.ndarray | None, n_classes: int) -> np.ndarray:
    """Independent sources per class: rows, or distinct groups when copies are grouped."""
    if groups is None:
        return np.bincount(y, minlength=n_classes)
    pairs = np.unique(np.stack([y, groups]), axis=1)
    return np.bincount(pairs[0], minlength=n_classes)


def needed_per_class(split_cfg: Mapping, folds: int) -> tuple[int, str]:
    """The fewest sources a class needs so that every training part holds two of them (its
    validation share is stratified too), and the setting that asks for it."""
    if folds >= 2:
        n = folds
        while n - math.ceil(n / folds) < 2:
            n += 1
        return n, f"cv.folds={folds}"
    test_size = float(split_cfg["test_size"])
    return max(2, math.floor(2 / (1 - test_size)) + 1), f"split.test_size={test_size:g}"


def check_split_sizes(
    y: np.ndarray,
    split_cfg: Mapping,
    folds: int,
    classes: list[str] | None = None,
    groups: np.ndarray | None = None,
) -> None:
    """Before any split is drawn: one line naming each class too small for the requested split."""
    classes = classes or [str(c) for c in range(int(y.max()) + 1)]
    counts = sources_per_class(y, groups, len(classes))
    needed, setting = needed_per_class(split_cfg, folds)
    small = [(c, int(n)) for c, n in zip(classes, counts) if n < needed]
    if small:
        listed = ", ".join(f"{c!r} has {n}" for c, n in small)
        kind = "independent sources (ids)" if groups is not None else "sources"
        raise XnetError(
            f"{setting} needs at least {needed} {kind} per class (one or more in each test part and 2 in every "
            f"training part, for its stratified validation share), but class {listed} "
            f"(split.min_class_count={split_cfg.get('min_class_count', '?')}); raise split.min_class_count to {needed} "
            f"to leave such classes out{', or lower split.test_size' if folds < 2 else ''}"
        )


def check_training_classes(split: Split, y: np.ndarray, classes: list[str], setting: str) -> None:
    """Every class must have training rows in every split (else it is only ever scored, recall 0)."""
    absent = [c for code, c in enumerate(classes) if not np.any(y[split.train] == code)]
    if absent:
        where = f"fold {split.fold}" if setting.startswith("cv") else "the hold-out split"
        raise XnetError(
            f"{setting}: class {', '.join(map(repr, absent))} has no source in the training part of {where}; "
            f"raise split.min_class_count to leave it out, or lower split.test_size / cv.folds"
        )


def make_splits(
    y: np.ndarray,
    split_cfg: Mapping,
    folds: int,
    seed: int,
    groups: np.ndarray | None = None,
    classes: list[str] | None = None,
) -> Iterator[Split]:
    """One seeded stratified train/test split, or StratifiedKFold when `folds` >= 2; the training
    part of each keeps a stratified validation share for early stopping. With `groups` (duplicate
    sources), StratifiedGroupKFold keeps every group on one side of every split."""
    rows = np.arange(len(y))
    classes = classes or [str(c) for c in range(int(y.max()) + 1)]
    val_size = float(split_cfg["val_size"])
    folds = int(folds or 0)
    check_split_sizes(y, split_cfg, folds, classes, groups)
    setting = needed_per_class(split_cfg, folds)[1]
    try:
        if folds >= 2:
            kfold = (
                StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
                if groups is None
                else StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
            )
            parts = list(kfold.split(rows, y, groups))
        else:
            parts = [_held_out(rows, y, groups, float(split_cfg["test_size"]), seed)]
        for k, (train, test) in enumerate(parts):
            tr, va = _train_val(train, y, val_size, seed, groups)
            split = Split(fold=k, train=tr, val=va, test=np.sort(test))
            check_training_classes(split, y, classes, setting)
            yield split
    except ValueError as err:  # a size scikit-learn still refuses (e.g. fewer rows than classes)
        raise XnetError(
            f"{setting}, split.val_size={val_size:g}: cannot split the labelled set ({err}); raise split.min_class_count or change the split sizes"
        ) from None


def ensemble_splits(
    split: Split,
    y: np.ndarray,
    val_size: float,
    seed: int,
    members: int,
    groups: np.ndarray | None = None,
) -> list[tuple[Split, int]]:
    """For an ensemble of `members` networks per split: network m gets its own stratified
    train/validation split of the split's training part (seed + m) and trains with seed + m; the
    test part is shared. Network 0 is exactly the single-network split."""
    if members <= 1:
        return [(split, seed)]
    outer = np.sort(np.concatenate([split.train, split.val]))
    out = []
    for m in range(members):
        train, val = _train_val(outer, y, val_size, seed + m, groups)
        out.append((Split(fold=split.fold, train=train, val=val, test=split.test), seed + m))
    return out
