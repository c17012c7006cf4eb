"""Issue 14's run-directory rows: a finished run is never trained over (overwrite=true clears only
the run's own files), and a run directory that cannot be written is one line before any work."""

from __future__ import annotations

import json
import os
import sys

import pandas as pd
import pytest
from conftest import FAST, compose_config, raw_lin

from xnet import train as train_entry
from xnet.api import train
from xnet.errors import XnetError
from xnet.runs import run_dir


def command_line(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`python -m xnet.train args...` in-process, up to where the run directory is checked."""
    monkeypatch.setattr(sys, "argv", ["xnet.train", *args])
    monkeypatch.setattr(train_entry, "_hydra_main", lambda: pytest.fail("Hydra must not start"))
    with pytest.raises(SystemExit) as stop:
        train_entry.main()
    return stop.value.code, capsys.readouterr().err


def fake_run(path, extra=()):
    (path / "checkpoints").mkdir(parents=True)
    (path / "checkpoints" / "holdout-best.ckpt").write_text("old")
    (path / ".hydra").mkdir()
    (path / ".hydra" / "config.yaml").write_text("old: 1\n")
    for name in (
        "metrics.json",
        "train.log",
        "confusion_counts.png",
        "reliability_fold_4.png",
        *extra,
    ):
        (path / name).write_text("old")
    return path


def test_finished_run_dir_is_refused_before_hydra_starts(tmp_path, monkeypatch, capsys):
    run = fake_run(tmp_path / "run", extra=("preds.csv",))
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    code, err = command_line(monkeypatch, capsys, f"hydra.run.dir={run}", "model.hidden=5")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"xnet: error: hydra.run.dir={run}: holds a finished run (metrics.json); "
        "choose another directory"
    )
    assert "overwrite=true" in err
    assert (
        sorted(p.relative_to(run) for p in run.rglob("*")) == before
        and (run / ".hydra" / "config.yaml").read_text() == "old: 1\n"
    )


def test_overwrite_true_clears_only_the_old_runs_files(tmp_path):
    """The first run is on a catalog with 100 duplicated rows: its metrics.json reports them."""
    run = tmp_path / "run"
    doubled = tmp_path / "doubled.csv"
    frame = raw_lin()
    kept = frame[frame["Class"].isin(["AGN", "CV", "LM-STAR"])]  # the classes with >= 10 sources
    pd.concat([frame, kept.iloc[:100]], ignore_index=True).to_csv(doubled, index=False)
    first = train(compose_config([f"data.path={doubled}", *FAST]), run)
    on_disk = json.loads((run / "metrics.json").read_text())
    assert (
        on_disk["duplicates"]["rows_with_duplicate_id"] == 200
        and on_disk["duplicates"]["grouped_splits"] is True
    )
    assert any(
        "200 rows share their id with another row (100 ids repeated)" in w
        for w in on_disk["warnings"]
    )
    with pytest.raises(XnetError, match="holds a finished run"):
        train(compose_config(FAST), run)
    (run / "reliability_fold_4.png").write_text("a figure of an earlier 5-fold run")
    (run / "preds.csv").write_text("a user's prediction")
    (run / "preds.metrics.json").write_text("{}")
    second = train(compose_config([*FAST, "overwrite=true", "model.hidden=7"]), run)
    assert not (
        run / "reliability_fold_4.png"
    ).exists()  # the old run's figure is gone, not mixed in
    assert (run / "preds.csv").read_text() == "a user's prediction" and (
        run / "preds.metrics.json"
    ).exists()
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(second)) != first
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "holdout-best.ckpt",
        "holdout-best.npz",
    ]  # checkpoint + NumPy export


def test_sweep_dir_with_finished_jobs_is_refused_and_overwrite_clears_each_job(
    tmp_path, monkeypatch, capsys
):
    sweep = tmp_path / "sweep"
    fake_run(sweep / "0")
    fake_run(sweep / "1", extra=("mine.txt",))
    (sweep / "summary.csv").write_text("job\n")
    code, err = command_line(
        monkeypatch, capsys, "-m", f"hydra.sweep.dir={sweep}", "model.hidden=5,10"
    )
    assert code == 2 and "holds finished jobs (0, 1)" in err and err.count("\n") == 1
    run_dir.claim(sweep, overwrite=True, sweep=True)
    assert sorted(p.relative_to(sweep).as_posix() for p in sweep.rglob("*")) == [
        ".xnet-run",  # the sweep directory is xnet's, and claimed (xnet.runs.run_claim)
        "0",
        "1",
        "1/mine.txt",
    ]


def test_job_dir_check_keeps_what_hydra_just_wrote(tmp_path):
    """A job's own check (sweep jobs, interpolated directories) runs after Hydra wrote .hydra/."""
    run = fake_run(tmp_path / "job")
    with pytest.raises(XnetError, match="run directory=.*holds a finished run"):
        run_dir.check_job_dir(run, overwrite=False)
    run_dir.check_job_dir(run, overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == [".hydra", ".xnet-run", "train.log"]


def test_run_dir_under_a_regular_file_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "afile").write_text("x")
    code, err = command_line(monkeypatch, capsys, f"hydra.run.dir={tmp_path / 'afile' / 'run'}")
    assert (
        code == 2
        and err
        == f"xnet: error: hydra.run.dir={tmp_path / 'afile' / 'run'}: is under "
        f"{tmp_path / 'afile'}, a regular file; choose another directory "
        "(hydra.run.dir=<new folder>)\n"
    )


def test_read_only_run_dir_is_one_line(tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the write probe fail as it does for a user

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(run_dir.tempfile, "mkstemp", refuse)
    try:
        code, err = command_line(monkeypatch, capsys, f"hydra.run.dir={locked / 'run'}")
    finally:
        locked.chmod(0o755)
    assert (
        code == 2
        and err
        == f"xnet: error: hydra.run.dir={locked / 'run'}: cannot write into {locked} "
        "(Permission denied); choose a writable directory (hydra.run.dir=<folder>)\n"
    )
    assert not (locked / "run").exists()
