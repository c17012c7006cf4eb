"""Issue 15: a checkpoint carries the ids of its training and validation rows; `xnet.predict`
marks them (`in_training`) and scores only the unseen rows; older checkpoints still predict."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST, LIN_CSV, compose_config

from xnet.api import predict
from xnet.data.labelled import prepare_labelled_set
from xnet.data.splits import make_splits
from xnet.testing.mock_catalog import slim_table, write_table
from xnet.training import train


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    """A hold-out run of two networks (each with its own inner train/validation split)."""
    run = tmp_path_factory.mktemp("ids") / "run"
    cfg = compose_config([*FAST, "ensemble.members=2"])
    metrics = train(cfg, run)
    return run, metrics, cfg


def test_checkpoints_carry_their_training_and_validation_ids(ensemble_run):
    run, metrics, cfg = ensemble_run
    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    split = next(make_splits(data.y, cfg.split, 0, int(cfg.seed)))
    names = data.frame["source_id"].to_numpy(dtype=object)
    outer, test = set(names[np.concatenate([split.train, split.val])]), set(names[split.test])
    seen = set()
    for name in metrics["checkpoints"]:
        state = torch.load(run / name, weights_only=True)["XrayDataModule"]
        train_ids, val_ids = state["train_ids"], state["val_ids"]
        assert all(isinstance(i, str) for i in train_ids + val_ids)
        assert len(train_ids) == metrics["n_train"] and len(val_ids) == metrics["n_val"]
        assert not set(train_ids) & set(val_ids) and not (set(train_ids) | set(val_ids)) & test
        seen |= set(train_ids) | set(val_ids)
    assert seen == outer  # the networks' inner splits cover the outer training part


def test_predict_marks_training_rows_and_scores_only_unseen_ones(ensemble_run, tmp_path, caplog):
    run, metrics, _ = ensemble_run
    with caplog.at_level(logging.INFO):
        table = predict(run, LIN_CSV, tmp_path / "lin.parquet")
    assert table["in_training"].dtype == bool
    assert any(
        f"in_training: {metrics['n_train'] + metrics['n_val']}" in r.getMessage()
        for r in caplog.records
    )
    assert (
        int(table["in_training"].sum()) == metrics["n_train"] + metrics["n_val"]
    )  # union of both networks
    scored = pd.read_json(tmp_path / "lin.parquet.metrics.json", typ="series")
    assert (
        scored["n_test"] == metrics["n_test"]
        and scored["n_in_training"] == metrics["n_train"] + metrics["n_val"]
    )
    assert (
        scored["confusion_matrix"] == metrics["confusion_matrix"]
    )  # exactly the run's own test part
    small = {c: row["support"] for c, row in scored["per_class"].items() if row["support"] < 10}
    assert small and [
        f"class {c} has {n} test sources" in w for c, n in small.items() for w in scored["warnings"]
    ].count(True) == len(small)
    assert any(
        f"left out: {metrics['n_train'] + metrics['n_val']} the run was trained or validated on"
        in r.getMessage()
        for r in caplog.records
    )


def test_4xmm_rows_are_matched_through_iauname(ensemble_run, tmp_path):
    """A DR13 table (ids SRCID) knows the Lin et al. sources by their IAU name (`keep_columns`)."""
    run, _, _ = ensemble_run
    rows = slim_table(60, seed=5)
    path = write_table(tmp_path / "slim.fits", rows)
    table = predict(run, path, tmp_path / "p.fits")
    seen = set()
    for name in ("holdout-m0", "holdout-m1"):
        state = torch.load(run / "checkpoints" / f"{name}-best.ckpt", weights_only=True)[
            "XrayDataModule"
        ]
        seen |= set(state["train_ids"]) | set(state["val_ids"])
    expected = [n.decode().strip() in seen for n in rows["IAUNAME"]]
    assert table["in_training"].tolist() == expected and 0 < sum(expected) < 60


@pytest.mark.parametrize("suffix", ["parquet", "csv", "fits", "vot"])
def test_run_without_ids_still_predicts_with_in_training_unknown(
    ensemble_run, tmp_path, caplog, suffix
):
    """Checkpoints written before ids were recorded: predictions as before, in_training empty, a
    warning."""
    run, metrics, _ = ensemble_run
    old = tmp_path / "old" / "checkpoints"
    old.mkdir(parents=True)
    for name in metrics["checkpoints"]:
        payload = torch.load(run / name, weights_only=True)
        for key in ("train_ids", "val_ids"):
            del payload["XrayDataModule"][key]
        torch.save(payload, tmp_path / "old" / name)
    (tmp_path / "old" / "metrics.json").write_text((run / "metrics.json").read_text())
    with caplog.at_level(logging.INFO):
        table = predict(tmp_path / "old", LIN_CSV, tmp_path / f"lin.{suffix}")
    assert len(table) == 1008 and table["pred_class"].notna().all()
    assert table["in_training"].isna().all()  # FITS: an integer column whose every value is TNULL
    scored = pd.read_json(tmp_path / f"lin.{suffix}.metrics.json", typ="series")
    assert (
        scored["n_test"] == 988 and scored["n_in_training"] == 0 and not scored["in_training_known"]
    )
    assert any(w.startswith("in_training unknown") for w in scored["warnings"])
    assert any(
        "carry no training/validation ids" in r.getMessage()
        and "may include rows" in r.getMessage()
        for r in caplog.records
    )


def test_ids_match_whatever_type_the_input_column_has():
    """Training records ids as `id_strings`; predict compares any column type (FITS bytes padded
    with blanks, integers, whole-number floats, CSV text) the same way."""
    import pyarrow as pa

    from xnet.data.ids import id_strings, known_rows

    ids = set(id_strings(np.array(["4XMM J000002.7-251136", 201, 7.0], dtype=object)))
    assert ids == {"4XMM J000002.7-251136", "201", "7"}
    assert known_rows(
        np.array([b"4XMM J000002.7-251136   ", b"4XMM J000010.1-315949"]), ids
    ).tolist() == [True, False]
    assert known_rows(np.array([201, 202], dtype=np.int64), ids).tolist() == [True, False]
    assert known_rows(np.array([7.0, np.nan, 7.5]), ids).tolist() == [True, False, False]
    assert known_rows(np.array([" 201", None], dtype=object), ids).tolist() == [True, False]
    assert known_rows(pa.array(["7", None]), ids).tolist() == [True, False]
