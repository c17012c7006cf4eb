"""Temperature scaling and the expected calibration error: the production path (`calibrate`,
`calibration_summary`, a training run's checkpoints and metrics.json) on a real model fit."""

import json

import numpy as np
import pytest
import torch
from conftest import FAST, compose_config
from torchmetrics.classification import MulticlassCalibrationError

from xnet.api import train
from xnet.data.labelled import prepare_labelled_set
from xnet.data.preprocessing import fit_scaler, transform
from xnet.data.splits import make_splits
from xnet.evaluation.calibration import (
    calibrate,
    calibration_summary,
    choose_temperature,
    ece_noise,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    tempered_probabilities,
)
from xnet.models import Classifier
from xnet.plotting.reliability import reliability_figure


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


def _drawn(n, scale, seed):
    """Logits z and labels drawn from softmax(z); a model reporting `scale` * z is overconfident by
    exactly that factor (its right temperature is `scale`)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4)) * 1.5
    cum = tempered_probabilities(z).cumsum(axis=1)
    y = (rng.random((n, 1)) > cum).sum(axis=1).clip(0, 3)
    return scale * z, y


def test_a_temperature_that_is_needed_is_applied_and_lowers_test_ece_and_nll():
    # overconfident by construction (3x the true logits): the cross-fitted gain is far beyond noise
    val_logits, y_val = _drawn(1000, 3.0, seed=1)
    test_logits, y_test = _drawn(4000, 3.0, seed=2)
    choice = choose_temperature(val_logits, y_val, min_gain_se=2.0)
    assert choice.applied and choice.value == pytest.approx(3.0, rel=0.15)
    assert choice.gain > 10 * choice.gain_se
    summary = calibration_summary(
        y_test,
        tempered_probabilities(test_logits),
        tempered_probabilities(test_logits, choice.value),
        [choice],
    )
    assert summary["networks_tempered"] == 1 and summary["temperature"] == choice.value
    # margins far beyond the sampling noise of 4000 sources (ece_noise about 0.01)
    assert summary["ece_test_after"] < summary["ece_test_before"] - 0.05
    assert summary["nll_test_after"] < summary["nll_test_before"] - 0.05
    assert "lowered the test NLL" in summary["verdict"]


def test_a_calibrated_model_keeps_temperature_one_and_says_so():
    # the model reports the true logits: any fitted temperature only fits the validation noise
    val_logits, y_val = _drawn(300, 1.0, seed=3)
    choice = choose_temperature(val_logits, y_val, min_gain_se=2.0)
    assert not choice.applied and choice.value == 1.0 and choice.fitted != 1.0
    test_logits, y_test = _drawn(300, 1.0, seed=4)
    p = tempered_probabilities(test_logits)
    summary = calibration_summary(y_test, p, p, [choice])
    assert summary["networks_tempered"] == 0 and summary["temperature"] == 1.0
    assert summary["verdict"].startswith("no temperature applied")
    assert sum(summary["ece_bin_counts"]) == summary["n_test"] == 300


def test_ece_noise_is_the_ece_of_a_perfectly_calibrated_model():
    # many test parts of 200 sources drawn from a calibrated model: their mean ECE is ece_noise
    eces, noises = [], []
    for seed in range(40):
        logits, y = _drawn(200, 1.0, seed=100 + seed)
        p = tempered_probabilities(logits)
        eces.append(expected_calibration_error(p, y))
        noises.append(ece_noise(p))
    assert np.mean(noises) == pytest.approx(np.mean(eces), rel=0.2)
    assert 0.03 < np.mean(noises) < 0.12  # 200 sources: ECE cannot resolve a few hundredths


def test_a_fitted_temperature_keeps_every_prediction(overfitted, tmp_path):
    model, x, y = overfitted
    model.temperature.fill_(1.0)
    raw_logits = model.logits(x["test"]).double().numpy()
    choice = calibrate(model, x["val"], y["val"])
    assert float(model.temperature) == pytest.approx(choice.value)
    assert choice.fitted > 1.1  # overfitted: overconfident (1.3-1.5 on AVX-512, AVX2, default)
    model.temperature.fill_(choice.fitted)  # applied or not, a temperature never changes a class
    calibrated = model.predict_proba(x["test"]).numpy()
    assert (calibrated.argmax(1) == raw_logits.argmax(1)).all()
    np.testing.assert_allclose(
        calibrated, tempered_probabilities(raw_logits, choice.fitted), atol=1e-5
    )
    fig = reliability_figure(
        y["test"], tempered_probabilities(raw_logits), calibrated, choice.fitted
    )
    fig.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_training_run_stores_its_calibration_in_checkpoint_and_metrics(tmp_path, enabled):
    metrics = train([f"calibration.enabled={str(enabled).lower()}", *FAST], tmp_path)
    block = metrics["calibration"]
    state = torch.load(tmp_path / metrics["checkpoint"], weights_only=True)["state_dict"]
    assert float(state["temperature"]) == pytest.approx(block["temperature"])
    assert json.loads((tmp_path / "metrics.json").read_text())["calibration"] == block
    assert block["verdict"] and sum(block["ece_bin_counts"]) == block["n_test"]
    if enabled:
        assert block["temperature_fitted"] != 1.0
        assert block["temperature"] in (1.0, block["temperature_fitted"])  # applied or not
    else:
        assert block["temperature"] == 1.0 and block["ece_test_before"] == pytest.approx(
            block["ece_test_after"], abs=1e-6
        )
