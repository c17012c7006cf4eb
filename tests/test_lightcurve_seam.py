"""The named-input seam: an extra per-source sequence and its encoder come in by config only
(`data.inputs`, `model.encoders`), train end to end next to the catalog features, and the
checkpoint loads into the plain classifier."""

import numpy as np
import pytest
import torch
from conftest import compose_config

from xnet.api import train
from xnet.data.labelled import prepare_labelled_set
from xnet.errors import XnetError
from xnet.models.artifacts.checkpoint import load_classifier, read_checkpoint
from xnet.predict.trained_run import load_run

LIGHTCURVE = [
    "+data.inputs={lightcurve:{_target_:xnet.testing.lightcurves.synthetic_lightcurves,length:32}}",
    "+model.encoders.lightcurve={_target_:xnet.models.encoders.SequenceCNN,channels:4,kernel_size:5}",
]
QUICK = ["trainer.max_epochs=40", "logger=none", "figures.enabled=false", "cv.folds=2"]


def test_a_sequence_encoder_trains_next_to_the_catalog_features(tmp_path):
    with_curves = train([*LIGHTCURVE, *QUICK], tmp_path / "lc")
    features_only = train(QUICK, tmp_path / "plain")
    # the synthetic curves carry the class: the encoder learns it, the catalog features alone cannot
    assert with_curves["balanced_accuracy"] > 0.9 > features_only["balanced_accuracy"]
    assert with_curves["feature_names"] == features_only["feature_names"]

    checkpoint = read_checkpoint(tmp_path / "lc" / with_curves["folds"][0]["checkpoint"])
    assert checkpoint["state_dict"]["net.encoders.lightcurve.weight"].shape == (
        1,
        4,
        1,
        5,
    )  # one member
    model = load_classifier(checkpoint)
    cfg = compose_config(LIGHTCURVE)
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    assert data.inputs["lightcurve"].shape == (len(data.y), 32)
    # the plain model takes the named inputs (features unscaled here: only the shapes matter)
    inputs = {
        "features": torch.zeros(5, len(data.feature_names)),
        "lightcurve": torch.as_tensor(data.inputs["lightcurve"][:5]),
    }
    proba = model.predict_proba(inputs).numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    # prediction over catalogs reads catalog columns only, and says so instead of failing later
    with pytest.raises(XnetError, match="also reads lightcurve"):
        load_run(tmp_path / "lc")
