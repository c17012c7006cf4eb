"""Beyond grids and one machine: Hydra's Optuna sweeper (conf/hparams_search/optuna.yaml) through
the stacked launcher, and Hydra's submitit launcher in its local mode (SLURM's code path)."""

import json
import re
import sys

import pytest
from conftest import FAST
from omegaconf import OmegaConf


def multirun(monkeypatch, *args: str) -> None:
    from xnet.train import _hydra_main

    monkeypatch.setattr(sys, "argv", ["xnet.train", *args])
    _hydra_main()


def test_tiny_optuna_search_through_the_stacked_launcher(tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "search"
    multirun(
        monkeypatch,
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "trainer.max_epochs=2",
        "logger=none",
        "figures.enabled=false",
        f"hydra.sweep.dir={sweep}",
    )
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    values = {}
    for job in ("0", "1"):
        overrides = OmegaConf.load(sweep / job / ".hydra" / "overrides.yaml")
        assert any(
            str(o).startswith("model.hidden=") for o in overrides
        )  # the trial's sampled settings
        values[job] = json.loads((sweep / job / "metrics.json").read_text())["balanced_accuracy"]
    # Optuna got each trial's optimized metric back from the stacked launcher
    assert results.best_value == pytest.approx(max(values.values()))
    assert set(results.best_params) == {"model.hidden", "model.dropout", "model.class_weighted"}
    # issue 23: Optuna's lines plain (no colour codes, no database set-up), floats shortened
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "\x1b[" not in text and "alembic" not in text and "[HYDRA]" not in text
    assert "A new study created" in text and "Best value: " in text
    assert not re.search(r"\d\.\d{5,}", text)  # dropout=0.0277, not 0.027701578430639338


@pytest.mark.cli
def test_submitit_local_launcher_runs_the_sweep_in_worker_processes(tmp_path, monkeypatch):
    """The submitit code path SLURM uses, with local processes."""
    sweep = tmp_path / "submitit"
    multirun(
        monkeypatch,
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        "model.hidden=6,8",
        *FAST,
        f"hydra.sweep.dir={sweep}",
    )
    n_test = {
        json.loads((sweep / job / "metrics.json").read_text())["n_test"] for job in ("0", "1")
    }
    assert n_test == {198}  # both jobs finished on the real slice
    logs = list((sweep / ".submitit").rglob("*_log.out"))
    assert len(logs) == 2  # one submitit job per sweep job
    assert {
        int(OmegaConf.load(sweep / job / ".hydra" / "config.yaml").model.hidden)
        for job in ("0", "1")
    } == {6, 8}
