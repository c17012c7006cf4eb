"""The optional tree member of an ensemble (`ensemble.trees`): fitted on training rows only, its
out-of-bag probabilities cross-fitted, its NumPy export equal to scikit-learn's predictions."""

import json

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from conftest import FAST, compose_config
from xnet.api import train
from xnet.data.labelled import make_splits, prepare_labelled_set
from xnet.models.trees import TreeArrays, fit_member


def test_tree_member_sees_training_rows_only_and_its_export_predicts_the_same(tmp_path):
    cfg = compose_config(["data=csc_muwclass", "features=xray_mw_plus"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    split = next(iter(make_splits(data.y, {"test_size": 0.3, "val_size": 0.1}, 0, 1)))
    train_rows = np.random.default_rng(0).permutation(np.concatenate([split.train, split.val]))[:800]
    n = len(data.classes)
    member = fit_member(data.x, data.y, train_rows, split.test, n, weight=0.5, seed=1)
    assert set(member.oob) == set(train_rows.tolist())  # every training row, no test row
    assert np.isnan(data.x[split.test]).any()  # the export is checked on rows with missing values
    assert np.allclose(member.arrays.predict_proba(data.x[split.test]), member.test, atol=1e-9)
    member.arrays.save(tmp_path / "trees.npz")
    loaded = TreeArrays.load(tmp_path / "trees.npz")
    assert np.array_equal(loaded.predict_proba(data.x[split.test]), member.arrays.predict_proba(data.x[split.test]))
    # it learned the classes (chance: 1/8), on the test part and out of bag
    assert balanced_accuracy_score(data.y[split.test], member.test.argmax(1)) > 0.5
    oob = np.stack([member.oob[int(r)] for r in train_rows])
    assert balanced_accuracy_score(data.y[train_rows], oob.argmax(1)) > 0.5
    networks = np.full_like(member.test, 1.0 / n)
    assert np.allclose(member.blend(networks, member.test), 0.5 * networks + 0.5 * member.test)


def test_training_with_a_tree_member_blends_it_and_saves_its_export(tmp_path):
    run = tmp_path / "trees"
    metrics = train(["data=csc_muwclass", "features=xray", "cv.folds=2", "ensemble.members=2", "ensemble.trees=0.5", *FAST], run)
    assert [f["trees"]["weight"] for f in metrics["folds"]] == [0.5, 0.5]
    assert json.loads((run / "metrics.json").read_text())["folds"][1]["trees"] == metrics["folds"][1]["trees"]
    assert "inner_validation" in metrics  # out-of-bag score with the cross-fitted tree probabilities
    # the saved member predicts the catalog from its raw features (3 training epochs: the trees carry it)
    cfg = compose_config(["data=csc_muwclass", "features=xray"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    trees = TreeArrays.load(run / metrics["folds"][0]["trees"]["checkpoint"])
    assert balanced_accuracy_score(data.y, trees.predict_proba(data.x).argmax(1)) > 0.4
    assert metrics["mean"]["balanced_accuracy"] > 0.25  # chance: 1/8 (the networks had 3 epochs)
