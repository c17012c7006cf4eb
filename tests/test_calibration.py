"""Temperature scaling and the expected calibration error: the production path (`calibrate`,
`calibration_summary`, a training run's checkpoints and metrics.json) on a real model fit."""

import json

import numpy as np
import pytest
import torch
from conftest import FAST, compose_config
from torchmetrics.classification import MulticlassCalibrationError

from xnet.api import train
from xnet.data.labelled import make_splits, prepare_labelled_set
from xnet.data.preprocessing import fit_scaler, transform
from xnet.models import Classifier
from xnet.plotting.reliability import reliability_figure
from xnet.training.calibration import (
    calibrate,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    tempered_probabilities,
)


@pytest.fixture(scope="module")
def overfitted():
    """xnet's classifier overfitted on the real Chandra set (wide, no regularisation, no early
    stopping): overconfident, as unregularised networks are."""
    cfg = compose_config(["data=csc_muwclass", "features=xray_mw"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    split = next(make_splits(data.y, cfg.split, 0, 1))
    scaler = fit_scaler(data.x[split.train])
    x = {
        part: torch.as_tensor(transform(scaler, data.x[rows]))
        for part, rows in (("train", split.train), ("val", split.val), ("test", split.test))
    }
    y = {"train": data.y[split.train], "val": data.y[split.val], "test": data.y[split.test]}
    torch.manual_seed(0)
    model = Classifier(x["train"].shape[1], data.classes, hidden=64, depth=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(200):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x["train"]), torch.as_tensor(y["train"])).backward()
        optimizer.step()
    return model, x, y


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 sources at confidence 0.8, 8 of them right: perfectly calibrated
    probs = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)
    assert expected_calibration_error(probs, y, n_bins=10) == pytest.approx(0.0)
    # all right at confidence 0.6: ECE = 1 - 0.6
    assert expected_calibration_error(
        np.tile([0.6, 0.4], (5, 1)), np.zeros(5, int)
    ) == pytest.approx(0.4)
    bins = reliability_bins(probs, y, n_bins=10)
    assert bins["count"].sum() == 10 and bins["count"][7] == 10  # 0.8 falls in (0.7, 0.8]


def test_ece_matches_torchmetrics_on_the_same_predictions(overfitted):
    model, x, y = overfitted
    for part in ("val", "test"):
        proba = model.predict_proba(x[part])
        reference = MulticlassCalibrationError(num_classes=proba.shape[1], n_bins=15, norm="l1")
        expected = float(reference(proba, torch.as_tensor(y[part])))
        assert expected_calibration_error(proba.numpy(), y[part], 15) == pytest.approx(
            expected, abs=1e-5
        )


def test_fit_temperature_recovers_a_known_temperature():
    # labels drawn from softmax(z); the network reports 2.5 z: the right temperature is 2.5
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 4)) * 2
    y = np.array([rng.choice(4, p=p) for p in tempered_probabilities(z)])
    assert fit_temperature(2.5 * z, y) == pytest.approx(2.5, rel=0.1)
    assert fit_temperature(np.empty((0, 4)), np.empty(0, int)) == 1.0


def test_calibrating_on_validation_lowers_test_ece_and_nll(overfitted, tmp_path):
    model, x, y = overfitted
    model.temperature.fill_(1.0)
    raw_logits = model.logits(x["test"]).double().numpy()
    temperature = calibrate(model, x["val"], y["val"])
    assert temperature > 1.2 and float(model.temperature) == pytest.approx(
        temperature
    )  # overconfident
    calibrated = model.predict_proba(x["test"]).numpy()
    summary = calibration_summary(
        y["test"], tempered_probabilities(raw_logits), calibrated, [temperature]
    )
    assert summary["ece_test_after"] < summary["ece_test_before"]
    assert negative_log_likelihood(raw_logits, y["test"], temperature) < negative_log_likelihood(
        raw_logits, y["test"]
    )
    # calibration keeps every prediction; the probabilities are the tempered softmax
    assert (calibrated.argmax(1) == raw_logits.argmax(1)).all()
    np.testing.assert_allclose(
        calibrated, tempered_probabilities(raw_logits, temperature), atol=1e-5
    )
    fig = reliability_figure(y["test"], tempered_probabilities(raw_logits), calibrated, temperature)
    fig.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_training_run_stores_its_calibration_in_checkpoint_and_metrics(tmp_path, enabled):
    metrics = train([f"calibration.enabled={str(enabled).lower()}", *FAST], tmp_path)
    block = metrics["calibration"]
    state = torch.load(tmp_path / metrics["checkpoint"], weights_only=True)["state_dict"]
    assert float(state["temperature"]) == pytest.approx(block["temperature"])
    assert json.loads((tmp_path / "metrics.json").read_text())["calibration"] == block
    if enabled:
        assert block["temperature"] != 1.0
    else:
        assert block["temperature"] == 1.0 and block["ece_test_before"] == pytest.approx(
            block["ece_test_after"], abs=1e-6
        )
