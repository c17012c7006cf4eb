"""Ensembles of networks per split, calibrated and prior-adjusted, from training to prediction."""

import json

import numpy as np
import pytest
import torch
from conftest import CSC_CSV, FAST

from xnet.api import predict, train
from xnet.data.splits import Split, ensemble_splits


def test_ensemble_splits_share_the_test_part_and_network_0_is_the_single_split():
    y = np.array([0] * 40 + [1] * 20)
    outer = Split(
        fold=0,
        train=np.arange(0, 60, 2)[:27],
        val=np.arange(0, 60, 2)[27:],
        test=np.arange(1, 60, 2),
    )
    from xnet.data.splits import _train_val

    train0, val0 = _train_val(np.sort(np.concatenate([outer.train, outer.val])), y, 0.1, 1)
    nets = ensemble_splits(outer, y, 0.1, 1, 3)
    assert [seed for _, seed in nets] == [1, 2, 3]
    assert np.array_equal(nets[0][0].train, train0) and np.array_equal(nets[0][0].val, val0)
    for split, _ in nets:
        assert np.array_equal(split.test, outer.test)
        assert sorted(np.concatenate([split.train, split.val])) == sorted(
            np.concatenate([outer.train, outer.val])
        )
    assert not np.array_equal(nets[1][0].val, nets[2][0].val)


def test_ensemble_training_and_prior_adjusted_prediction(tmp_path):
    run = tmp_path / "run"
    metrics = train(
        [
            "data=csc_muwclass",
            "features=xray_mw",
            "cv.folds=2",
            "ensemble.members=2",
            "decision.prior_power=0.5",
            *FAST,
        ],
        run,
    )
    assert metrics == json.loads((run / "metrics.json").read_text())
    classes = metrics["classes"]
    checkpoints = [c for fold in metrics["folds"] for c in fold["checkpoints"]]
    assert len(checkpoints) == 4 and len(set(checkpoints)) == 4
    assert {"ece_test_before", "ece_test_after", "temperature"} <= set(
        metrics["folds"][0]["calibration"]
    )
    states = [torch.load(run / c, weights_only=True) for c in checkpoints]
    for state in states:
        assert state["hyper_parameters"]["prior_power"] == 0.5
        assert abs(sum(state["hyper_parameters"]["class_prior"]) - 1) < 1e-6
    for fold in metrics[
        "folds"
    ]:  # each network keeps T = 1 unless its temperature earned its place
        cal = fold["calibration"]
        temperatures = [
            float(torch.load(run / c, weights_only=True)["state_dict"]["temperature"])
            for c in fold["checkpoints"]
        ]
        assert sum(t != 1.0 for t in temperatures) == cal["networks_tempered"]
        assert cal["temperature"] == pytest.approx(np.mean(temperatures))

    table = predict(run, CSC_CSV)
    proba = table[[f"P_{c.replace('-', '_')}" for c in classes]].to_numpy()
    prior = np.mean([s["hyper_parameters"]["class_prior"] for s in states], axis=0)
    expected = np.asarray(classes)[np.argmax(np.log(proba) - 0.5 * np.log(prior), axis=1)]
    assert (table["pred_class"].to_numpy(dtype=object) == expected).all()
    assert (
        expected != np.asarray(classes)[proba.argmax(axis=1)]
    ).any()  # the prior moved some decisions
