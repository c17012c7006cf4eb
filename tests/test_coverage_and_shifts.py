"""Selective classification, measurement-error resampling, shifted splits, inner validation."""

import numpy as np
import pandas as pd
import pytest
from conftest import compose_config

from xnet.data.labelled import prepare_labelled_set
from xnet.data.noise import error_resampled, perturbed_frame
from xnet.data.shifted import splits_for
from xnet.data.splits import make_splits
from xnet.evaluation.coverage import (
    COVERAGES,
    confidence_scores,
    coverage_block,
    coverage_curve,
    kept_rows,
)
from xnet.evaluation.metrics import classification_report

CLASSES = ["A", "B", "C"]


def test_full_coverage_equals_the_plain_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.7, y, rng.integers(0, 3, 200))
    confidence = rng.random(200)
    full = coverage_curve(y, pred, confidence, CLASSES)[-1]
    plain = classification_report(y, pred, CLASSES)
    assert full["coverage"] == 1.0 and full["n_kept"] == 200
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        assert full[key] == pytest.approx(plain[key])


def test_most_confident_rows_are_kept_first():
    # 10 sources: the 8 most confident are right, the 2 least confident wrong
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    pred = y.copy()
    pred[[3, 7]] = [1, 0]
    confidence = np.array([0.9, 0.8, 0.95, 0.2, 0.85, 0.7, 0.99, 0.1, 0.6, 0.75])
    assert kept_rows(confidence, 0.8).tolist() == [0, 1, 2, 4, 5, 6, 8, 9]
    curve = coverage_curve(y, pred, confidence, CLASSES, coverages=(0.5, 0.8, 1.0))
    assert curve[1]["accuracy"] == 1.0 and curve[1]["threshold"] == pytest.approx(0.6)
    assert curve[2]["accuracy"] == pytest.approx(0.8)
    assert curve[0]["n_kept"] == 5 and curve[0]["threshold"] == pytest.approx(0.8)


def test_confidence_lower_bound_penalises_disagreeing_networks():
    members = np.array(
        [[[0.9, 0.1], [0.9, 0.1]], [[0.5, 0.5], [0.9, 0.1]]]
    )  # (members, rows, classes)
    proba = members.mean(axis=0)
    pred = proba.argmax(axis=1)
    plain = confidence_scores(proba, pred, members, "probability")
    lower = confidence_scores(proba, pred, members, "lower_bound")
    assert plain.tolist() == pytest.approx([0.7, 0.9])
    assert lower.tolist() == pytest.approx([0.7 - 0.2, 0.9])
    with pytest.raises(ValueError):
        confidence_scores(proba, pred, members, "entropy")
    # decision: p / prior^power renormalised; a rare class (prior 0.1) predicted at p = 0.4
    p = np.array([[0.6, 0.4]])
    adjusted = confidence_scores(
        p, np.array([1]), kind="decision", prior=[0.9, 0.1], prior_power=1.0
    )
    assert adjusted[0] == pytest.approx((0.4 / 0.1) / (0.6 / 0.9 + 0.4 / 0.1))
    assert confidence_scores(p, np.array([1]), kind="decision", prior=[0.9, 0.1], prior_power=0.0)[
        0
    ] == pytest.approx(0.4)


def test_coverage_block_pools_folds_and_reports_the_81_percent_point():
    rng = np.random.default_rng(1)
    splits = []
    for _ in range(3):
        y = rng.integers(0, 3, 100)
        splits.append({"y_true": y, "y_pred": y.copy(), "confidence": rng.random(100)})
    block = coverage_block(splits, CLASSES, "probability")
    assert [p["coverage"] for p in block["curve"]] == list(COVERAGES)
    assert (
        block["operating_point"]["coverage"] == 0.81 and block["operating_point"]["n_kept"] == 243
    )
    assert block["operating_point_per_fold"]["accuracy"] == {"mean": 1.0, "std": 0.0}
    assert block["muwclass_confident"]["balanced_accuracy"] == 0.790


def test_measurement_error_copies_move_only_columns_with_errors():
    frame = pd.DataFrame(
        {
            "flux_soft": [1.0, 2.0],
            "flux_soft_err": [0.5, 0.0],
            "j": [15.0, np.nan],
            "j_err": [0.1, 0.1],
            "pm": [3.0, 4.0],
        }
    )
    out = perturbed_frame(frame, np.random.default_rng(0))
    assert out["flux_soft"][0] != 1.0 and out["flux_soft"][1] == 2.0  # zero error: unchanged
    assert (
        (out["flux_soft"] > 0).all() and np.isnan(out["j"][1]) and out["pm"].tolist() == [3.0, 4.0]
    )
    assert out["flux_soft_err"].tolist() == [0.5, 0.0]

    cfg = compose_config(["data=csc_muwclass", "features=xray_mw_plus"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    rows = np.arange(50)
    x, y = error_resampled(data, rows, {"error_copies": 2}, seed=1)
    assert x.shape == (150, data.x.shape[1]) and (y == np.tile(data.y[rows], 3)).all()
    assert np.array_equal(x[:50], data.x[rows], equal_nan=True)  # the catalog values come first
    hr = data.feature_names.index("hr_ms")
    assert not np.allclose(x[50:100, hr], x[:50, hr], equal_nan=True)  # redrawn copies differ
    missing = data.feature_names.index("gaia_g_missing")
    assert (x[50:100, missing] == x[:50, missing]).all()  # a missing counterpart stays missing
    x0, _ = error_resampled(data, rows, {"error_copies": 0}, seed=1)
    assert np.array_equal(x0, data.x[rows], equal_nan=True)


def test_shifted_splits_test_the_faintest_and_keep_sky_cells_whole():
    from xnet.data.features import compute_feature
    from xnet.data.shifted import sky_cells

    cfg = compose_config(["data=csc_muwclass", "features=xray_mw"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    (faint,) = splits_for(data, {"scheme": "faint", "faint_fraction": 0.2}, cfg.split, 1)
    flux = compute_feature(data.frame, "log_flux").to_numpy()
    train = np.concatenate([faint.train, faint.val])
    assert len(faint.test) == pytest.approx(0.2 * np.isfinite(flux).sum(), abs=1)
    assert np.nanmax(flux[faint.test]) <= np.nanmin(flux[train])
    assert len(set(train) | set(faint.test)) == len(data.y) and not set(train) & set(faint.test)

    folds = splits_for(data, {"scheme": "sky", "folds": 5, "sky_cell_deg": 30}, cfg.split, 1)
    cells = sky_cells(data.frame["ra"].to_numpy(), data.frame["dec"].to_numpy(), 30)
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == list(range(len(data.y)))
    for f in folds:
        assert not set(cells[f.test]) & set(
            cells[np.concatenate([f.train, f.val])]
        )  # no cell on both sides

    stratified = splits_for(data, {"scheme": "stratified", "folds": 5}, cfg.split, 1)
    reference = list(make_splits(data.y, cfg.split, 5, 1))
    assert all(np.array_equal(a.test, b.test) for a, b in zip(stratified, reference))


def test_reddened_agn_copies_are_harder_and_redder():
    from xnet.data.features import compute_feature
    from xnet.data.noise import reddened

    frame = pd.DataFrame(
        {
            "flux_soft": [1e-14],
            "flux_medium": [1e-14],
            "flux_hard": [2e-14],
            "flux_total": [4e-14],
            "gaia_g": [20.5],
            "j": [15.0],
            "k": [14.0],
        }
    )
    out = reddened(frame, np.random.default_rng(0), (22.0, 22.0))  # N_H = 1e22 cm^-2, A_V ~ 4.5
    assert (
        out["flux_soft"][0] / 1e-14
        < out["flux_medium"][0] / 1e-14
        < out["flux_hard"][0] / 2e-14
        < 1
    )
    assert compute_feature(out, "hr_hm")[0] > compute_feature(frame, "hr_hm")[0]
    assert np.isnan(out["gaia_g"][0])  # pushed beyond Gaia's limit: no counterpart
    assert out["j"][0] - out["k"][0] > frame["j"][0] - frame["k"][0]  # redder
    assert out["flux_total"][0] == pytest.approx(
        out[["flux_soft", "flux_medium", "flux_hard"]].sum(axis=1)[0]
    )

    cfg = compose_config(["data=csc_muwclass", "features=xray_mw"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    rows = np.arange(100)
    x, y = error_resampled(data, rows, {"reddened_agn_copies": 2}, seed=1)
    n_agn = int((data.y[rows] == data.classes.index("AGN")).sum())
    assert len(y) == 100 + 2 * n_agn and (y[100:] == data.classes.index("AGN")).all()
