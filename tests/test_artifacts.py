"""The checkpoint format (`xnet.models.artifacts`), on the small run of conftest: the files, keys
and versions today's xnet writes are pinned, so a change that would leave the checkpoints of
earlier runs unreadable fails here first; a checkpoint loads alike from its NumPy export and from
torch; one this xnet cannot read is one line that says to retrain or upgrade."""

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from xnet.errors import XnetError
from xnet.models import Classifier
from xnet.models.artifacts.checkpoint import read_checkpoint
from xnet.models.artifacts.compat import CHECKPOINT_FORMAT, FEATURE_SCHEMA
from xnet.models.artifacts.export import NumpyModel
from xnet.models.artifacts.layout import STATE_KEYS, checkpoint_name, export_path
from xnet.models.artifacts.load import load_model
from xnet.predict.forward import member_proba, scale

#: the top-level keys of a checkpoint as xnet has written them since the format was stamped
KEYS = {
    "state_dict",
    "hyper_parameters",
    "pytorch-lightning_version",
    "epoch",
    "global_step",
    "XrayDataModule",
    "xnet_version",
    "xnet_checkpoint_format",
    "feature_schema",
}
#: the export's JSON `meta` beside its weights (`w/<state_dict key>`)
META_KEYS = {"hyper_parameters", "epoch", "XrayDataModule", "checkpoint_sha256"}


@pytest.fixture(scope="module")
def trained(small_run):
    """The small run of conftest (read only), its checkpoint and metrics."""
    metrics = json.loads((small_run / "metrics.json").read_text())
    return small_run, small_run / metrics["checkpoint"], metrics


def test_a_run_writes_the_pinned_checkpoint_and_export(trained):
    run, ckpt, metrics = trained
    assert metrics["checkpoint"] == checkpoint_name("holdout") == "checkpoints/holdout-best.ckpt"
    payload = read_checkpoint(ckpt)
    assert set(payload) == KEYS
    assert payload["xnet_checkpoint_format"] == CHECKPOINT_FORMAT == 1
    assert payload["feature_schema"]["version"] == FEATURE_SCHEMA == 1
    assert set(STATE_KEYS) <= set(payload["XrayDataModule"])
    assert payload["hyper_parameters"]["class_names"] == metrics["classes"]
    with np.load(export_path(ckpt), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        weights = {k[2:]: npz[k] for k in npz.files if k.startswith("w/")}
    assert set(meta) == META_KEYS and set(weights) == set(payload["state_dict"])
    assert meta["checkpoint_sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    for key, tensor in payload["state_dict"].items():
        assert np.array_equal(weights[key], tensor.numpy())


def test_a_checkpoint_loads_alike_from_its_export_and_from_torch(trained, tmp_path):
    _, ckpt, _ = trained
    exported = load_model(ckpt)
    shutil.copy(ckpt, tmp_path / ckpt.name)  # no export beside this copy: read with torch
    from_torch = load_model(tmp_path / ckpt.name)
    assert isinstance(exported.model, NumpyModel) and isinstance(from_torch.model, Classifier)
    assert exported.state["classes"] == from_torch.state["classes"]
    assert exported.state["feature_names"] == from_torch.state["feature_names"]
    x = np.random.default_rng(0).lognormal(size=(300, len(exported.state["feature_names"])))
    x[::7, 0] = np.nan  # imputed alike
    p_numpy = member_proba(exported.model, scale(exported.scaler, x), 128)
    p_torch = member_proba(from_torch.model, scale(from_torch.scaler, x), 128)
    assert np.allclose(p_numpy, p_torch, atol=1e-5)
    assert np.allclose(p_numpy.sum(1), 1, atol=1e-5) and p_numpy.std(0).max() > 0


def test_a_checkpoint_this_xnet_cannot_read_is_one_line(trained, tmp_path):
    _, ckpt, _ = trained
    payload = read_checkpoint(ckpt)
    torch.save(dict(payload, xnet_checkpoint_format=CHECKPOINT_FORMAT + 1), tmp_path / "new.ckpt")
    with pytest.raises(XnetError, match=r"newer than this xnet .*; upgrade xnet or retrain$"):
        load_model(tmp_path / "new.ckpt")
    odd = dict(payload, hyper_parameters=dict(payload["hyper_parameters"], depth=5))
    torch.save(odd, tmp_path / "odd.ckpt")  # weights of another shape than its arguments say
    with pytest.raises(XnetError, match=r"does not match this version of xnet .*; retrain$"):
        load_model(tmp_path / "odd.ckpt")
