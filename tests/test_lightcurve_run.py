"""A light-curve run end to end on a small simulated set: training with CV (metrics with and
without a light curve, the branch ablation, TensorBoard), and `xnet.predict` writing the
training-side probabilities to 1e-6 from the NumPy export and from the checkpoint."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import compose_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from xnet.api import predict, train
from xnet.data.labelled import prepare_labelled_set
from xnet.data.preprocessing import scaler_from_state, transform
from xnet.models.artifacts.checkpoint import load_classifier, read_checkpoint

pytestmark = pytest.mark.slow  # trains, then predicts twice: ~1 min on a busy 2-core machine

SMALL = [
    "experiment=lightcurve_demo",
    "data.generate.n_sources=160",
    "data.lightcurves.binning.bins=32",
    "model.encoders.lightcurve.channels=4",
    "model.encoders.lightcurve.pool=2",
    "split.min_class_count=6",
    "cv.folds=2",
    "trainer.max_epochs=8",
    "figures.enabled=false",
]


@pytest.fixture(scope="module")
def lightcurve_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("lightcurve_run") / "run"
    metrics = train(SMALL, run_dir)
    return run_dir, compose_config(SMALL), metrics


def training_side_probabilities(run_dir, cfg, metrics):
    """Each fold's checkpoint evaluated on the labelled set as training builds it (its scaler,
    its binned light curves), averaged over folds: what predict must write."""
    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    proba = []
    for fold in metrics["folds"]:
        checkpoint = read_checkpoint(run_dir / fold["checkpoint"])
        model = load_classifier(checkpoint)
        scaler = scaler_from_state(checkpoint["XrayDataModule"]["scaler"])
        inputs = {
            "features": torch.as_tensor(transform(scaler, data.x)),
            "lightcurve": torch.as_tensor(data.inputs["lightcurve"]),
        }
        proba.append(model.predict_proba(inputs).numpy())
    return data.frame["source_id"].to_numpy(dtype=object), np.mean(proba, axis=0), data


def test_predict_writes_the_training_side_probabilities(lightcurve_run, tmp_path):
    run_dir, cfg, metrics = lightcurve_run
    ids, expected, data = training_side_probabilities(run_dir, cfg, metrics)
    folder = cfg.data.generate.folder
    overrides = [f"lightcurves.path={folder}/xmm"]
    without_export = tmp_path / "run"
    shutil.copytree(run_dir, without_export)
    for export in without_export.glob("checkpoints/*.npz"):
        export.unlink()  # predict falls back to the checkpoints, loaded with torch
    for run in (run_dir, without_export):
        table = predict(run, f"{folder}/catalog.csv", overrides=overrides).set_index("name")
        got = table.loc[ids, [f"P_{c.replace('-', '_')}" for c in data.classes]].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    has = data.frame["lc_present"].to_numpy() > 0
    assert 0 < has.sum() < len(has)  # sources with and without a light curve were both compared


def test_metrics_and_tensorboard_of_a_lightcurve_run(lightcurve_run):
    run_dir, _, metrics = lightcurve_run
    block = metrics["lightcurves"]
    pooled = block["pooled_out_of_fold"]
    assert pooled["with"]["n_test"] + pooled["without"]["n_test"] == metrics["n_test"]
    assert set(block["with"]) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert set(block["branch"]["with"]) == set(metrics["classes"])
    board = run_dir / "tensorboard"
    member = EventAccumulator(str(board / "members" / "fold_0"))
    member.Reload()
    tags = member.Tags()["scalars"]
    assert "lightcurve_branch/without/acc_AGN" in tags and "lightcurve_branch/with/acc_AGN" in tags
    job = EventAccumulator(str(board), size_guidance={"tensors": 0})
    job.Reload()
    content = job.PluginTagToContent("hparams")
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    # whole numbers are hparams text ("4", not 4.000: issue 23)
    assert (
        start.session_start_info.hparams["model.encoders.lightcurve.channels"].string_value == "4"
    )
