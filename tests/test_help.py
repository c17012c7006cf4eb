"""`--help` written for people (Hydra's help templates): description, usage, main options, the
groups' choices and three examples; predict lists only its own options and the catalog= choices."""

import sys

import pytest


def help_text(monkeypatch, capsys, main) -> str:
    monkeypatch.setattr(sys, "argv", ["prog", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None)
    return capsys.readouterr().out


def test_train_help_starts_with_a_description_and_usage_and_is_short(monkeypatch, capsys):
    from xnet.train import _hydra_main

    text = help_text(monkeypatch, capsys, _hydra_main)
    lines = text.strip().splitlines()
    assert lines[0].startswith("xnet.train: train and evaluate") and len(lines) < 60
    assert any(line.startswith("usage: python -m xnet.train") for line in lines[:6])
    assert (
        "model.hidden=N" in text
        and "data: csc_muwclass, " in text
        and "features: xray, xray_mw" in text
    )
    assert sum(line.strip().startswith("python -m xnet.train ") for line in lines) == 3
    assert "task_name:" not in text  # no config dump
    # issue 23: training data apart from prediction-only catalogs; Optuna's trial count; browsing
    data = next(line for line in lines if line.startswith("data: "))
    assert data == "data: csc_muwclass, lightcurve_demo, xmm_lin2024, xmm_lin2024_full"
    assert any("prediction inputs only" in line and "xmm_dr13_slim" in line for line in lines)
    assert "hydra.sweeper.n_trials=N" in text and "Browse a sweep: tensorboard --logdir" in text


def test_predict_help_lists_its_options_and_catalog_choices_only(monkeypatch, capsys):
    from xnet.predict.job import _hydra_main

    text = help_text(monkeypatch, capsys, _hydra_main)
    assert text.startswith("xnet.predict: classify") and "usage: python -m xnet.predict" in text
    choices = next(line for line in text.splitlines() if line.startswith("catalog= choices:"))
    assert "xmm_dr13_slim" in choices and "csc_muwclass" in choices
    assert (
        "features:" not in text and "model.hidden" not in text
    )  # training groups are not predict's
