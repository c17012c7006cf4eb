"""Issue 22, part 1: no file outside the run is ever touched, no run is silently mixed or lost.
Run directories are claimed (one training at a time), folders xnet did not create are refused, an
interrupted run's leftovers never mix with the next run, a signal never looks like success, and
the figure cache writes only inside itself and copies only what it drew."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import signal
import sys
import time

import pytest
from conftest import FAST, LIN_CSV, compose_config

from xnet.errors import XnetError
from xnet.runs import run_dir


def release(path) -> None:
    """Give up this process's claim on `path` (xnet.runs.run_claim)."""
    from xnet.runs import run_claim

    run_claim.release(path)


def fake_unfinished_run(path):
    """What a run killed with kill -9 while writing checkpoints leaves (no metrics.json)."""
    (path / "checkpoints").mkdir(parents=True)
    (path / "checkpoints" / "holdout-best.ckpt").write_text("half")
    (path / "checkpoints" / ".fold_0-m0-best.ckpt.4242.x1y2.tmp").write_text("")
    (path / "tensorboard" / "members" / "holdout").mkdir(parents=True)
    (path / "tensorboard" / "events.out.tfevents.1.dead").write_text("old curves")
    (path / ".hydra").mkdir()
    (path / ".hydra" / "config.yaml").write_text("old: 1\n")
    (path / ".metrics.json.4242.abc.tmp").write_text("{")
    (path / "preds.csv").write_text("a user's file")
    return path


def test_a_killed_runs_leftovers_are_deleted_before_the_next_run(tmp_path):
    run = fake_unfinished_run(tmp_path / "run")
    run_dir.claim(run, overwrite=False)
    try:
        left = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
        assert left == [".xnet-run", "preds.csv"]  # no tmp checkpoint, no old events
    finally:
        release(run)


def test_a_folder_xnet_did_not_create_is_refused_and_overwrite_deletes_nothing(tmp_path):
    folder = tmp_path / "mine"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "holdout-best.ckpt").write_text("my own file")
    (folder / "missing_values.csv").write_text("my table")
    (folder / "notes.txt").write_text("x")
    with pytest.raises(XnetError) as err:
        run_dir.claim(folder, overwrite=False, key="hydra.run.dir")
    assert str(err.value).startswith(
        f"hydra.run.dir={folder}: a folder xnet did not create, holding checkpoints, "
        "missing_values.csv, notes.txt; choose an empty or new directory"
    )
    assert not (folder / ".xnet-run").exists()
    run_dir.claim(folder, overwrite=True)
    try:
        assert (folder / "checkpoints" / "holdout-best.ckpt").read_text() == "my own file"
        assert (folder / "notes.txt").exists() and (folder / "missing_values.csv").exists()
    finally:
        release(folder)


def _hold_in_child(path, ready, done):
    run_dir.claim(path, overwrite=False)
    ready.set()
    done.wait(60)


def test_a_run_dir_in_use_by_another_training_is_refused_in_one_line(tmp_path):
    run = tmp_path / "run"
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    child = context.Process(target=_hold_in_child, args=(run, ready, done))
    child.start()
    try:
        assert ready.wait(30)
        with pytest.raises(XnetError) as err:
            run_dir.claim(run, overwrite=True)
        assert str(err.value) == (
            f"hydra.run.dir={run}: in use by another training (xnet.train pid {child.pid}); wait "
            f"for it to end or choose another directory (hydra.run.dir=<new folder>)"
        )
    finally:
        done.set()
        child.join()
    run_dir.claim(run, overwrite=False)  # its claim ended with it
    release(run)


def test_experimental_rerun_and_unparsable_overrides_are_one_line_exit_2(
    monkeypatch, capsys, tmp_path
):
    from xnet import train as train_entry

    monkeypatch.setattr(train_entry, "_hydra_main", lambda: pytest.fail("Hydra must not start"))
    for argv, line in (
        (
            ["--experimental-rerun", str(tmp_path / "payload.pickle")],
            "xnet: error: --experimental-rerun: refused: it loads a pickle file",
        ),
        (
            [f"data.path={tmp_path}/dätä.csv"],
            f"xnet: error: data.path={tmp_path}/dätä.csv: Hydra cannot parse this override "
            f"(LexerNoViableAltException: data.path={tmp_path}/dätä.csv); quote the value, for "
            f"Hydra and for the shell: 'data.path=\"{tmp_path}/dätä.csv\"'",
        ),
    ):
        monkeypatch.setattr(sys, "argv", ["xnet.train", *argv])
        with pytest.raises(SystemExit) as stop:
            train_entry.main()
        err = capsys.readouterr().err
        assert stop.value.code == 2 and err.count("\n") == 1 and err.startswith(line), err


@pytest.mark.parametrize(
    "signum, swallowed",
    [(signal.SIGTERM, False), (signal.SIGTERM, True), (signal.SIGINT, True)],
)
def test_a_signal_during_training_is_one_line_its_status_and_no_metrics(
    tmp_path, monkeypatch, capsys, keep_logging, signum, swallowed
):
    """Lightning turns SIGTERM into SystemExit() (status 0): `train && predict` carried on. A
    library that swallows the signal's exception (`swallowed`) must not finish the run either."""
    from xnet import train as train_entry
    from xnet.models.stacked import StackedClassifier

    step = StackedClassifier.training_step

    def signalled(self, batch, batch_idx):
        if self.current_epoch == 1 and batch_idx == 0:
            try:
                os.kill(os.getpid(), signum)
                time.sleep(0.01)  # the handler runs here
            except BaseException:
                if not swallowed:
                    raise
        return step(self, batch, batch_idx)

    monkeypatch.setattr(StackedClassifier, "training_step", signalled)
    run = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["xnet.train", *FAST, f"hydra.run.dir={run}"])
    with pytest.raises(SystemExit) as stop:
        train_entry.main()
    err = capsys.readouterr().err.strip().splitlines()
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert stop.value.code == 128 + signum
    assert err[-1] == f"xnet: {what}; the run did not finish (no metrics.json)"
    assert not (run / "metrics.json").exists() and "Traceback" not in "\n".join(err)


def _busy_helper():
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C reaches the whole process group
    time.sleep(5)


def test_a_forked_helper_leaves_quietly_on_ctrl_c(capfd):
    """Ctrl-C while a child draws figures printed the child's KeyboardInterrupt traceback."""
    from xnet.errors import stop_on_signals

    stop_on_signals()
    child = multiprocessing.get_context("fork").Process(target=_busy_helper)
    child.start()
    child.join(30)
    assert child.exitcode == 130 and capfd.readouterr().err == ""


# ------------------------------------------------------------------------------ figure cache

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@functools.lru_cache(maxsize=1)
def _labelled():
    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.splits import make_splits

    cfg = compose_config([f"data.path={LIN_CSV}"])
    data = prepare_labelled_set(cfg.data, cfg.features, 10)
    return data, next(make_splits(data.y, cfg.split, 0, 1))


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """A fresh data home, a labelled set, and the drawing replaced by two tiny files (the cache's
    rules are under test here, not matplotlib's drawing: tests/test_figures.py draws)."""
    from xnet.plotting import data_figures

    monkeypatch.setenv("XNET_DATA_HOME", str(tmp_path / "home"))
    draws = []

    def draw(out_dir, data, split, tb_writer=None):
        draws.append(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "class_shares.png").write_bytes(PNG)
        (out_dir / "missing_values.csv").write_text("class,n\n")
        return {"class_shares": "class_shares.png", "missing_values_csv": "missing_values.csv"}

    monkeypatch.setattr(data_figures, "write_data_figures", draw)
    return (*_labelled(), draws)


def _cache_folder(data, split):
    from xnet.plotting.figure_cache import cache_dir, content_key

    return cache_dir() / content_key(data, split)


@pytest.mark.parametrize("index", ["plain", "with_hashes"])
def test_figure_cache_entries_never_name_a_path_outside_the_run(tmp_path, cache_env, index):
    """The issue's attack on the index as xnet wrote it then ({figure: file}), and on the index
    with hashes it writes now."""
    from xnet.plotting.figure_cache import cached_data_figures

    data, split, draws = cache_env
    cached_data_figures(tmp_path / "run1", data, split)
    folder = _cache_folder(data, split)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "target.txt").write_text("payload")  # read from beside the cache folder
    victim = tmp_path / "a" / "x" / "target.txt"  # and written beside the run
    victim.parent.mkdir(parents=True)
    victim.write_text("precious")
    entries = {"class_shares": "../../../x/target.txt"}
    attack = entries if index == "plain" else {"files": entries, "sha256": {}}
    (folder / "figures.json").write_text(json.dumps(attack))
    run = tmp_path / "a" / "b" / "c" / "run2"
    written = cached_data_figures(run, data, split)
    assert victim.read_text() == "precious" and len(draws) == 2  # refused, drawn again
    assert written == {
        "class_shares": "class_shares.png",
        "missing_values_csv": "missing_values.csv",
    }
    assert (run / "class_shares.png").read_bytes() == PNG


@pytest.mark.parametrize("damage", ["truncated_png", "missing_png", "truncated_index"])
def test_a_damaged_figure_cache_is_redrawn_never_copied(tmp_path, cache_env, damage):
    from xnet.plotting.figure_cache import cached_data_figures

    data, split, draws = cache_env
    cached_data_figures(tmp_path / "run1", data, split)
    folder = _cache_folder(data, split)
    if damage == "truncated_png":
        (folder / "class_shares.png").write_bytes(PNG[:10])
    elif damage == "missing_png":
        (folder / "class_shares.png").unlink()
    else:
        (folder / "figures.json").write_text('{"files": {"class_sh')
    cached_data_figures(tmp_path / "run2", data, split)
    assert len(draws) == 2 and (tmp_path / "run2" / "class_shares.png").read_bytes() == PNG
    assert (folder / "class_shares.png").read_bytes() == PNG  # the cache is whole again


@pytest.mark.parametrize("home", ["regular_file", "cache_is_a_file"])
def test_an_unwritable_data_home_draws_into_the_run_with_a_warning(
    tmp_path, cache_env, monkeypatch, caplog, home
):
    from xnet.plotting.figure_cache import cached_data_figures, draw_ahead

    data, split, draws = cache_env
    if home == "regular_file":
        (tmp_path / "home_file").write_text("not a folder")
        monkeypatch.setenv("XNET_DATA_HOME", str(tmp_path / "home_file"))
    else:
        (tmp_path / "home").mkdir()
        (tmp_path / "home" / "figure_cache").write_text("not a folder")
    draw_ahead(data, split)  # before training: nothing to start
    with caplog.at_level("WARNING"):
        written = cached_data_figures(tmp_path / "run", data, split)
    assert draws == [tmp_path / "run"] and written["class_shares"] == "class_shares.png"
    assert any("cannot be written" in r.getMessage() for r in caplog.records)
