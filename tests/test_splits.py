"""Issue 14's splitting rows: duplicate sources never leak across a split, split sizes are checked
up front, a class never misses the training part, mostly-missing classes are named."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, compose_config, data_config, raw_lin
from sklearn.model_selection import StratifiedKFold, train_test_split

from xnet.api import train
from xnet.data.labelled import prepare_labelled_set
from xnet.data.splits import Split, check_training_classes, ensemble_splits, make_splits
from xnet.errors import XnetError


def lin_copy(tmp_path, edit, name="lin.csv") -> str:
    path = tmp_path / name
    edit(raw_lin()).to_csv(path, index=False)
    return str(path)


def labelled(path: str, min_class_count: int = 10, data: str = "xmm_lin2024"):
    cfg = compose_config(
        [f"data={data}", f"data.path={path}", f"split.min_class_count={min_class_count}"]
    )
    return cfg, prepare_labelled_set(cfg.data, cfg.features, min_class_count)


def sides(split: Split, ids: np.ndarray) -> list[set]:
    return [set(ids[split.train]), set(ids[split.val]), set(ids[split.test])]


def test_duplicated_catalog_is_reported_and_no_id_crosses_any_split(tmp_path, caplog):
    """Every row twice (same ids): one warning with counts and examples; every split, fold and
    ensemble network keeps both copies of a source on the same side."""
    path = lin_copy(tmp_path, lambda f: pd.concat([f, f], ignore_index=True))
    with caplog.at_level(logging.WARNING):
        cfg, data = labelled(path)
    n = len(data.y)
    assert (
        data.duplicates.n_rows_duplicate_id == n == 2 * 988 + 2 * 14
    )  # NS and HMXB (7 each) now have 14 rows
    assert data.duplicates.n_ids_repeated == n // 2 and data.groups is not None
    messages = [r.getMessage() for r in caplog.records if "duplicate sources" in r.getMessage()]
    assert (
        len(messages) == 1
        and f"{n} rows share their id with another row ({n // 2} ids repeated)" in messages[0]
    )
    assert "e.g. id 4XMM J" in messages[0] and " x2" in messages[0]
    ids = data.frame["source_id"].to_numpy(dtype=object)
    for folds in (0, 3):
        splits = list(
            make_splits(data.y, cfg.split, folds, 1, groups=data.groups, classes=data.classes)
        )
        assert len(splits) == max(folds, 1)
        tested = set()
        for split in splits:
            train_ids, val_ids, test_ids = sides(split, ids)
            assert not (train_ids & val_ids or train_ids & test_ids or val_ids & test_ids)
            assert len(split.train) + len(split.val) + len(split.test) == n
            tested |= test_ids
            for net, _ in ensemble_splits(split, data.y, 0.1, 1, 2, groups=data.groups):
                a, b, c = sides(net, ids)
                assert not (a & b or a & c or b & c)
            # the grouped splits stay stratified: every class in every training part, test shares
            # near the whole set's
            assert set(np.unique(data.y[split.train])) == set(range(len(data.classes)))
            shares = np.bincount(data.y[split.test], minlength=len(data.classes)) / len(split.test)
            assert np.abs(shares - np.bincount(data.y) / n).max() < 0.05
        if folds:
            assert tested == set(ids)  # every source is tested exactly once over the folds


@pytest.mark.parametrize("data", ["xmm_lin2024", "csc_muwclass"])
def test_without_duplicates_the_splits_are_the_plain_stratified_ones(data):
    """The bundled catalogs have unique ids: no groups, and exactly the ungrouped scikit-learn
    splits
    (so earlier seeds and results are unchanged)."""
    cfg = compose_config([f"data={data}"])
    labelled_set = prepare_labelled_set(cfg.data, cfg.features, 10)
    assert labelled_set.groups is None and labelled_set.duplicates.n_rows_duplicate_id == 0
    y, rows = labelled_set.y, np.arange(len(labelled_set.y))
    train, test = train_test_split(rows, test_size=0.2, stratify=y, random_state=1)
    tr, va = train_test_split(train, test_size=0.1, stratify=y[train], random_state=1)
    split = next(make_splits(y, cfg.split, 0, 1))
    assert [list(split.train), list(split.val), list(split.test)] == [
        sorted(tr),
        sorted(va),
        sorted(test),
    ]
    for split, (train, test) in zip(
        make_splits(y, cfg.split, 5, 1),
        StratifiedKFold(5, shuffle=True, random_state=1).split(rows, y),
    ):
        tr, va = train_test_split(train, test_size=0.1, stratify=y[train], random_state=1)
        assert [list(split.train), list(split.val), list(split.test)] == [
            sorted(tr),
            sorted(va),
            sorted(test),
        ]


def two_member_class(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.index[[0, 1]], "Class"] = "PAIR"
    return frame


SIZE_CASES = {  # overrides -> what the one line must say
    # caught by the config schema before the labelled set is read
    "min_class_count=1": (
        ["split.min_class_count=1"],
        "split.min_class_count=1",
        "must be an integer >= 2",
    ),
    "min_class_count=2, test_size=0.5": (
        ["split.min_class_count=2", "split.test_size=0.5"],
        "split.test_size=0.5 needs at least 5 sources per class",
        "'PAIR' has 2",
    ),
    "min_class_count=2, cv.folds=2": (
        ["split.min_class_count=2", "cv.folds=2"],
        "cv.folds=2 needs at least 4 sources per class",
        "'PAIR' has 2",
    ),
    "test_size=0.8": (
        ["split.min_class_count=2", "split.test_size=0.8"],
        "split.test_size=0.8 needs at least 11 sources per class",
        "'PAIR' has 2",
    ),
}


@pytest.mark.parametrize("case", list(SIZE_CASES))
def test_split_sizes_are_checked_up_front(tmp_path, case):
    overrides, needs, names = SIZE_CASES[case]
    path = lin_copy(tmp_path, two_member_class)
    with pytest.raises(XnetError) as err:
        train(compose_config([f"data.path={path}", *overrides, *FAST]), tmp_path / "run")
    message = str(err.value)
    assert needs in message and names in message and "\n" not in message
    assert case == "min_class_count=1" or "raise split.min_class_count to" in message
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_class_absent_from_a_training_part_is_an_error():
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    split = Split(fold=0, train=np.array([0, 1, 3, 4]), val=np.array([2, 5]), test=np.array([6, 7]))
    with pytest.raises(
        XnetError,
        match="split.test_size=0.8: class 'XRB' has no source in the training part of the "
        "hold-out split",
    ):
        check_training_classes(split, y, ["AGN", "STAR", "XRB"], "split.test_size=0.8")


def test_class_with_mostly_missing_features_is_named(tmp_path, caplog):
    features = [
        c
        for k, c in data_config("xmm_lin2024")["columns"].items()
        if k not in ("sum_flag", "poserr", "det_ml")
    ]

    def blank_cv(frame):
        frame = frame.copy()
        frame.loc[frame["Class"] == "CV", [c for c in features if c in frame]] = ""
        return frame

    with caplog.at_level(logging.WARNING):
        _, data = labelled(lin_copy(tmp_path, blank_cv))
    warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith("class 'CV'")]
    assert len(warned) == 1 and "100% of its feature values are missing" in warned[0]
    assert warned[0] in data.warnings
