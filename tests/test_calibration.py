"""Temperature scaling and the expected calibration error, on logits of a real model fit."""

import numpy as np
import pytest
import torch

from conftest import compose_config
from xnet.training.calibration import (
    calibrate_split,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    tempered_probabilities,
)
from xnet.data.labelled import make_splits, prepare_labelled_set
from xnet.models.stacked import XrayClassifier
from xnet.models.nets import MLP
from xnet.data.preprocessing import fit_scaler, transform


@pytest.fixture(scope="module")
def chandra_logits():
    """Logits of xnet's network overfitted on the real Chandra set (wide, no regularisation, no
    early stopping): overconfident, as unregularised networks are."""
    cfg = compose_config(["data=csc_muwclass", "features=xray_mw"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    split = next(make_splits(data.y, cfg.split, 0, 1))
    scaler = fit_scaler(data.x[split.train])
    x = {part: torch.as_tensor(transform(scaler, data.x[rows])) for part, rows in
         (("train", split.train), ("val", split.val), ("test", split.test))}
    y_train = torch.as_tensor(data.y[split.train])
    torch.manual_seed(0)
    net = MLP(x["train"].shape[1], len(data.classes), hidden=128, depth=2)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(x["train"]), y_train).backward()
        optimizer.step()
    with torch.no_grad():
        logits = {part: net(x[part]).double().numpy() for part in ("val", "test")}
    return logits["val"], data.y[split.val], logits["test"], data.y[split.test], data.classes


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 sources at confidence 0.8, 8 of them right: perfectly calibrated
    probs = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert expected_calibration_error(probs, y, n_bins=10) == pytest.approx(0.0)
    # all right at confidence 0.6: ECE = 1 - 0.6
    assert expected_calibration_error(np.tile([0.6, 0.4], (5, 1)), np.zeros(5, int)) == pytest.approx(0.4)
    bins = reliability_bins(probs, y, n_bins=10)
    assert bins["count"].sum() == 10 and bins["count"][7] == 10  # 0.8 falls in (0.7, 0.8]


def test_fit_temperature_recovers_a_known_temperature():
    # labels drawn from softmax(z); the network reports 2.5 z: the right temperature is 2.5
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 4)) * 2
    y = np.array([rng.choice(4, p=p) for p in tempered_probabilities(z)])
    assert fit_temperature(2.5 * z, y) == pytest.approx(2.5, rel=0.1)
    assert fit_temperature(np.empty((0, 4)), np.empty(0, int)) == 1.0


def test_temperature_fitted_on_validation_lowers_test_ece_and_nll(chandra_logits, tmp_path):
    logits_val, y_val, logits_test, y_test, classes = chandra_logits
    result = calibrate_split(logits_val, y_val, logits_test, y_test, tmp_path, "holdout")
    assert result["temperature"] > 1.2  # the overfitted network is overconfident
    assert result["ece_test_after"] < result["ece_test_before"]
    assert result["ece_val_after"] < result["ece_val_before"]
    assert result["nll_test_after"] < result["nll_test_before"]
    assert result["nll_test_before"] == pytest.approx(negative_log_likelihood(logits_test, y_test))
    # the calibrated probabilities keep every prediction and sum to one
    proba = result["proba_test"]
    assert np.allclose(proba.sum(axis=1), 1) and (proba.argmax(1) == logits_test.argmax(1)).all()
    png = tmp_path / "reliability_holdout.png"
    assert result["figure"] == png.name and png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"


def test_calibrate_split_adds_the_figure_to_tensorboard(chandra_logits, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    logits_val, y_val, logits_test, y_test, _ = chandra_logits
    writer = SummaryWriter(str(tmp_path / "tb"))
    calibrate_split(logits_val, y_val, logits_test, y_test, tmp_path, "fold_0", tb_writer=writer)
    writer.close()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    assert "calibration/reliability_fold_0" in events.Tags()["images"]


def test_model_temperature_buffer_applies_the_fitted_temperature(chandra_logits):
    """Prediction uses the calibrated probabilities: setting the buffer to T reproduces them."""
    model = XrayClassifier(n_features=3, class_names=["a", "b"])
    x = torch.randn(5, 3)
    with torch.no_grad():
        logits = model.net(x).numpy()
    model.temperature.fill_(2.0)
    assert np.allclose(model.predict_proba(x).numpy(), tempered_probabilities(logits, 2.0), atol=1e-6)
