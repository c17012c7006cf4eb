"""Stratified splits of a labelled set: hold-out or cross-validation folds, each with a
validation share for early stopping, and the per-member splits of an ensemble.

When an id repeats (`xnet.data.duplicates`), every split is group-aware (CV folds:
StratifiedGroupKFold; hold-out and validation shares: a stratified split of the groups), so all
copies of a source land on one side. Without duplicates the splits are the plain stratified ones
(train_test_split, StratifiedKFold), seed for seed. Split sizes are checked before any split is
drawn: each class needs enough sources (groups) for its training part to hold two (the validation
share is stratified too), and every class must be in the training part of every split.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from xnet.errors import XnetError


@dataclass
class Split:
    """Row indices into a LabelledSet."""

    fold: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


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
        or_lower = ", or lower split.test_size" if folds < 2 else ""
        raise XnetError(
            f"{setting} needs at least {needed} {kind} per class (one or more in each test part "
            f"and 2 in every training part, for its stratified validation share), but class "
            f"{listed} (split.min_class_count={split_cfg.get('min_class_count', '?')}); raise "
            f"split.min_class_count to {needed} to leave such classes out{or_lower}"
        )


def check_training_classes(split: Split, y: np.ndarray, classes: list[str], setting: str) -> None:
    """Every class must have training rows in every split (else it is only ever scored,
    recall 0)."""
    absent = [c for code, c in enumerate(classes) if not np.any(y[split.train] == code)]
    if absent:
        where = f"fold {split.fold}" if setting.startswith("cv") else "the hold-out split"
        raise XnetError(
            f"{setting}: class {', '.join(map(repr, absent))} has no source in the training part "
            f"of {where}; raise split.min_class_count to leave it out, or lower "
            f"split.test_size / cv.folds"
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
            f"{setting}, split.val_size={val_size:g}: cannot split the labelled set ({err}); "
            f"raise split.min_class_count or change the split sizes"
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
