"""Splits, scaling and resampling: fit on training rows only; validation and test untouched."""

import logging

import numpy as np
import pytest
from conftest import compose_config

from xnet.data.labelled import prepare_labelled_set
from xnet.data.preprocessing import fit_scaler, scaler_from_state, scaler_state, transform
from xnet.data.splits import make_splits
from xnet.training.datamodule import XrayDataModule


def labelled(overrides=()):
    cfg = compose_config(list(overrides))
    return cfg, prepare_labelled_set(cfg.data, cfg.features, cfg.split.min_class_count)


def module_for(overrides=(), folds=0):
    cfg, data = labelled(overrides)
    split = next(make_splits(data.y, cfg.split, folds, cfg.seed))
    dm = XrayDataModule(data, split, cfg.resample, seed=cfg.seed)
    dm.setup("fit")
    return cfg, data, split, dm


def test_small_classes_dropped_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        _, data = labelled()
    assert data.classes == ["AGN", "CV", "LM-STAR"]
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "left out" in r.getMessage()
    ]
    assert (
        len(warnings) == 1
    )  # (the duplicate and missing-feature warnings are tested in test_splits.py)
    assert all(
        s in warnings[0] for s in ("NS (7)", "HMXB (7)", "HM-STAR (4)", "LMXB (1)", "NS_BIN (1)")
    )


def test_holdout_split_is_stratified_and_disjoint():
    cfg, data = labelled(["data=csc_muwclass"])
    split = next(make_splits(data.y, cfg.split, 0, cfg.seed))
    assert not (
        set(split.train) & set(split.val)
        or set(split.train) & set(split.test)
        or set(split.val) & set(split.test)
    )
    assert len(split.train) + len(split.val) + len(split.test) == len(data.y)
    total = np.bincount(data.y)
    for part, share in ((split.test, 0.2), (split.val, 0.8 * 0.1)):
        counts = np.bincount(data.y[part], minlength=len(total))
        assert np.all(np.abs(counts - total * share) <= 1.5), (counts, total * share)


def test_kfold_tests_cover_every_source_once():
    cfg, data = labelled(["data=csc_muwclass"])
    splits = list(make_splits(data.y, cfg.split, 5, cfg.seed))
    tests = np.concatenate([s.test for s in splits])
    assert len(splits) == 5 and sorted(tests) == list(range(len(data.y)))
    for s in splits:
        counts = np.bincount(data.y[s.test], minlength=len(data.classes))
        assert np.all(np.abs(counts - np.bincount(data.y) / 5) <= 1)


def test_scaler_is_fit_on_training_rows_only():
    _, data, split, dm = module_for(["data=csc_muwclass", "features=xray_mw"])
    expected = scaler_state(fit_scaler(data.x[split.train]))
    everything = scaler_state(fit_scaler(data.x))
    assert dm.state_dict()["scaler"] == expected
    assert dm.state_dict()["scaler"]["power_lambdas"] != everything["power_lambdas"]
    # the test rows are scaled with the training-part fit, not one of their own
    np.testing.assert_allclose(
        dm.x_test.numpy(), transform(fit_scaler(data.x[split.train]), data.x[split.test]), atol=1e-6
    )


def test_scaler_state_round_trips():
    _, data, split, dm = module_for(["data=csc_muwclass", "features=xray_mw"])
    rebuilt = scaler_from_state(dm.state_dict()["scaler"])
    np.testing.assert_allclose(transform(rebuilt, data.x[split.test]), dm.x_test.numpy(), atol=1e-6)


@pytest.mark.parametrize("method", ["smote", "smote_under"])
def test_resampling_touches_training_rows_only(method):
    cfg, data, split, dm = module_for(["data=csc_muwclass", f"resample={method}"])
    natural_val = np.bincount(data.y[split.val], minlength=len(data.classes))
    natural_test = np.bincount(data.y[split.test], minlength=len(data.classes))
    assert np.array_equal(np.bincount(dm.y_val.numpy(), minlength=len(data.classes)), natural_val)
    assert np.array_equal(np.bincount(dm.y_test.numpy(), minlength=len(data.classes)), natural_test)
    # no synthetic rows in validation or test: they are exactly the scaled original rows
    np.testing.assert_allclose(
        dm.x_test.numpy(), transform(dm.scaler, data.x[split.test]), atol=1e-6
    )
    np.testing.assert_allclose(dm.x_val.numpy(), transform(dm.scaler, data.x[split.val]), atol=1e-6)
    train_counts = dict(
        zip(data.classes, np.bincount(dm.y_train.numpy(), minlength=len(data.classes)))
    )
    before = dict(zip(data.classes, np.bincount(data.y[split.train], minlength=len(data.classes))))
    assert train_counts["HMXB"] == 500 and before["HMXB"] < 30  # SMOTE'd up to the study's target
    if method == "smote_under":
        assert (
            train_counts["AGN"] == 500 and train_counts["YSO"] == 520
        )  # undersampled to their targets
    else:
        assert train_counts["AGN"] == before["AGN"]


def test_smote_k_shrinks_for_tiny_classes():
    _, data, split, dm = module_for(["resample=smote", "split.min_class_count=5"])
    counts = dict(zip(data.classes, np.bincount(dm.y_train.numpy())))
    assert (
        "NS" in counts and counts["NS"] == 500
    )  # NS has only a handful of training rows, k shrank


def test_fast_yeo_johnson_fit_equals_scikit_learn():
    """fit_scaler finds the lambdas itself (for speed); it must agree with PowerTransformer's
    fit."""
    from xnet.data.preprocessing import make_scaler

    cfg, data = labelled(["data=csc_muwclass", "features=xray_mw"])
    split = next(make_splits(data.y, cfg.split, 0, cfg.seed))
    ours, reference = fit_scaler(data.x[split.train]), make_scaler().fit(data.x[split.train])
    np.testing.assert_allclose(
        ours.named_steps["power"].lambdas_, reference.named_steps["power"].lambdas_, rtol=1e-7
    )
    np.testing.assert_allclose(
        transform(ours, data.x[split.test]), transform(reference, data.x[split.test]), atol=1e-6
    )


def test_drop_missing_keeps_only_complete_sources():
    _, full = labelled(["data=csc_muwclass"])
    _, complete = labelled(["data=csc_muwclass", "features.drop_missing=true"])
    assert not np.isnan(complete.x).any()
    assert not any(name.endswith("_missing") for name in complete.feature_names)
    # P_inter is missing for 54 % of the Chandra sources: the complete-case set is much smaller
    assert 0.3 * len(full.y) < len(complete.y) < 0.6 * len(full.y)
