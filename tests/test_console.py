"""Issue 23: what a person sees in the terminal. The training progress bar ends at 100 % (or says
it stopped early) and counts networks in words; a sweep value the schema refuses stops the
command before any folder exists; `--help` lists only training catalogs as training data, says
how to set the number of Optuna trials and never prints a BrokenPipeError; long floats are
shortened for display. The sweep's own console is tested in test_job_logs.py and
test_optuna_and_submitit.py."""

import subprocess
import sys

import pytest
from conftest import compose_config

import xnet.train as train_entry
from xnet.api import train
from xnet.runs.job_logs import short_floats
from xnet.runs.sweep import format_table


def test_progress_ends_at_100_percent_when_early_stopping_ends_the_fit(tmp_path, capsys):
    overrides = ["trainer.max_epochs=200", "early_stopping.patience=1", "logger=none"]
    overrides += ["figures.enabled=false", "progress=true"]
    metrics = train(overrides, tmp_path / "run")
    last = capsys.readouterr().err.split("\r")[-1]
    epochs = metrics["epochs"]
    assert epochs < 200  # early stopping ended it (the default run's best epoch is 85)
    assert "xnet.train (1 network)" in last and "100%" in last
    assert f"{epochs}/{epochs}" in last and f"stopped early at epoch {epochs}" in last


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`python -m xnet.train args...` in-process, up to Hydra (which must not start)."""
    monkeypatch.setattr(sys, "argv", ["xnet.train", *args])
    monkeypatch.setattr(train_entry, "_hydra_main", lambda: pytest.fail("Hydra must not start"))
    with pytest.raises(SystemExit) as stop:
        train_entry.main()
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "model.hidden=10,ten"], "model.hidden=ten: must be an integer >= 1"),
        (["-m", "model.dropout=0.1,1.5"], "model.dropout=1.5: must be a number in [0, 1)"),
        (["-m", "cv.folds=range(0,3)"], "cv.folds=1: must be an integer >= 2 (or 0)"),
        (["model.depth=0"], "model.depth=0: must be an integer >= 1"),
    ],
)
def test_every_sweep_value_is_checked_before_any_folder(
    tmp_path, monkeypatch, capsys, args, message
):
    monkeypatch.chdir(tmp_path)
    code, err = run_main(monkeypatch, capsys, *args)
    assert code == 2 and err == f"xnet: error: {message}\n"
    assert list(tmp_path.iterdir()) == []  # no outputs/, no sweep folder


@pytest.mark.cli
@pytest.mark.parametrize("module", ["xnet.train", "xnet.predict"])
def test_help_into_a_closed_pipe_prints_no_traceback(module):
    """`--help | head`: the reader is gone before the help is written."""
    child = subprocess.Popen(
        [sys.executable, "-m", module, "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()
    err = child.stderr.read().decode()
    child.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err and child.returncode == 1


def test_long_floats_are_shortened_for_people():
    text = "#0 : model.hidden=20 model.dropout=0.027701578430639338 seed=3 lr=0.01"
    assert short_floats(text) == "#0 : model.hidden=20 model.dropout=0.0277 seed=3 lr=0.01"
    assert short_floats("Best value: 0.6824070811271667") == "Best value: 0.6824"


def test_summary_table_has_one_number_format_and_no_trailing_spaces():
    rows = [
        {"job": "1", "overrides": "model.dropout=0.2634352309172836", "balanced_accuracy": 0.9},
        {"job": "0", "overrides": "model.dropout=0.1", "balanced_accuracy": 0.58437},
    ]
    lines = format_table(rows).splitlines()
    assert lines[1].endswith(" 0.9000") and lines[2].endswith(" 0.5844")
    assert "model.dropout=0.2634 " in lines[1]
    assert all(line == line.rstrip() for line in lines)
    assert len({len(line) for line in lines}) == 1  # numbers right-aligned in one column


def test_confidence_column_says_what_it_is(tmp_path):
    """At default settings confidence is pred_prob (decision.prior_power=0: the prior adjustment
    changes nothing); with a prior power its description says it is adjusted."""
    from types import SimpleNamespace

    from xnet.predict.columns import CONFIDENCE, column_meta

    plan = SimpleNamespace(carried=[], label=None, ra=None, dec=None, id=None)
    default = SimpleNamespace(confidence="decision", prior_power=0.0)
    adjusted = SimpleNamespace(confidence="decision", prior_power=0.5)
    assert column_meta(plan, ["AGN"], default)[CONFIDENCE][1].endswith("= pred_prob here")
    assert "class-prior adjustment" in column_meta(plan, ["AGN"], adjusted)[CONFIDENCE][1]
    assert compose_config().decision.prior_power == 0  # the default the first case describes
