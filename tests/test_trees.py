"""The optional tree member of an ensemble (`ensemble.trees`): fitted on training rows only, its
out-of-bag probabilities cross-fitted, its NumPy export equal to scikit-learn's predictions."""

import json

import numpy as np
import pytest
from conftest import FAST, compose_config
from sklearn.metrics import balanced_accuracy_score

from xnet.api import train
from xnet.data.labelled import prepare_labelled_set
from xnet.data.splits import make_splits
from xnet.models.artifacts.trees import TreeArrays
from xnet.models.trees import fit_member


def test_tree_member_sees_training_rows_only_and_its_export_predicts_the_same(tmp_path):
    cfg = compose_config(["data=csc_muwclass", "features=xray_mw_plus"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    split = next(iter(make_splits(data.y, {"test_size": 0.3, "val_size": 0.1}, 0, 1)))
    train_rows = np.random.default_rng(0).permutation(np.concatenate([split.train, split.val]))[
        :800
    ]
    n = len(data.classes)
    member = fit_member(data.x, data.y, train_rows, split.test, n, weight=0.5, seed=1)
    assert set(member.oob) == set(train_rows.tolist())  # every training row, no test row
    assert np.isnan(data.x[split.test]).any()  # the export is checked on rows with missing values
    assert np.allclose(member.arrays.predict_proba(data.x[split.test]), member.test, atol=1e-9)
    member.arrays.save(tmp_path / "trees.npz")
    loaded = TreeArrays.load(tmp_path / "trees.npz")
    assert np.array_equal(
        loaded.predict_proba(data.x[split.test]), member.arrays.predict_proba(data.x[split.test])
    )
    # it learned the classes (chance: 1/8), on the test part and out of bag
    assert balanced_accuracy_score(data.y[split.test], member.test.argmax(1)) > 0.5
    oob = np.stack([member.oob[int(r)] for r in train_rows])
    assert balanced_accuracy_score(data.y[train_rows], oob.argmax(1)) > 0.5
    networks = np.full_like(member.test, 1.0 / n)
    assert np.allclose(member.blend(networks, member.test), 0.5 * networks + 0.5 * member.test)


@pytest.mark.slow  # two folds of networks and trees, then a whole-catalog prediction (~18 s)
def test_a_run_with_a_tree_member_blends_it_in_training_and_in_xnet_predict(tmp_path):
    """Training blends the tree member and saves its NumPy export; `xnet.predict` on the run gives
    the blend metrics.json reports: on the run's own catalog its probabilities are exactly the
    blend of networks and trees, not the networks alone."""
    from xnet.api import predict
    from xnet.predict import probability_column
    from xnet.predict.forward import predict_proba
    from xnet.predict.trained_run import load_run

    run_dir = tmp_path / "trees"
    metrics = train(
        [
            "data=csc_muwclass",
            "features=xray",
            "cv.folds=2",
            "ensemble.members=2",
            "ensemble.trees=0.5",
            *FAST,
        ],
        run_dir,
    )
    assert [f["trees"]["weight"] for f in metrics["folds"]] == [0.5, 0.5]
    assert (
        json.loads((run_dir / "metrics.json").read_text())["folds"][1]["trees"]
        == metrics["folds"][1]["trees"]
    )
    assert (
        "inner_validation" in metrics
    )  # out-of-bag score with the cross-fitted tree probabilities
    assert metrics["mean"]["balanced_accuracy"] > 0.25  # chance: 1/8 (the networks had 3 epochs)
    cfg = compose_config(["data=csc_muwclass", "features=xray"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    trees = TreeArrays.load(run_dir / metrics["folds"][0]["trees"]["checkpoint"])
    assert (
        balanced_accuracy_score(data.y, trees.predict_proba(data.x).argmax(1)) > 0.4
    )  # the trees carry it

    run = load_run(run_dir)
    assert len(run.trees) == 2 and run.tree_weight == 0.5
    blended = predict_proba(run, data.x, 4096)
    trees_only = np.mean([t.predict_proba(data.x) for t in run.trees], axis=0)
    networks = (blended - 0.5 * trees_only) / 0.5
    assert np.allclose(networks.sum(axis=1), 1, atol=1e-4) and not np.allclose(
        blended, networks, atol=1e-3
    )
    table = predict(run_dir, cfg.data.path).set_index(cfg.data.id)
    ids = data.frame["source_id"].to_numpy(dtype=object)  # the catalog's id column, canonical name
    written = table.loc[ids, [probability_column(c) for c in run.classes]].to_numpy(dtype=float)
    assert np.allclose(written, blended, atol=1e-6)  # what metrics.json's blend scored
