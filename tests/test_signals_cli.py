"""Issue 22: a signal to the real command line, as a user or a batch system sends it, is one line,
exit status 143 (SIGTERM) or 130 (SIGINT), no traceback, and nothing that looks finished: for a
single run at start-up, and for sweeps under the stacked and the basic launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

SLOW_SWEEP = ["cv.folds=5", "trainer.max_epochs=600", "early_stopping.patience=600"]
QUIET = ["logger=none", "figures.enabled=false", "progress=false"]


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "xnet.train", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(condition, proc: subprocess.Popen, seconds: float = 180) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the command never got there"
        time.sleep(0.05)


def stopped(proc: subprocess.Popen, signum: int) -> list[str]:
    assert proc.poll() is None, "finished before the signal: make the run longer"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    return err.strip().splitlines()


@pytest.mark.cli
def test_ctrl_c_at_start_up_is_one_line_and_exit_130(tmp_path):
    run = tmp_path / "run"
    proc = start(f"hydra.run.dir={run}", *SLOW_SWEEP, *QUIET)  # long: never done before the signal
    wait_for(lambda: (run / ".hydra" / "config.yaml").exists(), proc)  # now torch imports
    lines = stopped(proc, signal.SIGINT)
    assert lines[-1] == "xnet: interrupted; the run did not finish (no metrics.json)"
    assert not (run / "metrics.json").exists()


@pytest.mark.cli
@pytest.mark.parametrize(
    "launcher, signum",
    [("xnet_stacked", signal.SIGINT), ("xnet_stacked", signal.SIGTERM), ("basic", signal.SIGTERM)],
)
def test_a_signal_during_a_sweeps_training_is_one_line_and_nothing_finished(
    tmp_path, launcher, signum
):
    sweep = tmp_path / "sweep"
    proc = start(
        "-m", f"hydra/launcher={launcher}", f"hydra.sweep.dir={sweep}", "model.hidden=20,30",
        *SLOW_SWEEP, *QUIET,
    )  # fmt: skip
    log = sweep / "0" / "train.log"
    wait_for(lambda: log.exists() and "features" in log.read_text(), proc)
    time.sleep(1.0)  # training
    lines = stopped(proc, signum)
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    assert lines[-1] == (
        f"xnet: {what}; the sweep did not finish (no summary.csv; a job without metrics.json is "
        f"unfinished)"
    )
    assert not (sweep / "summary.csv").exists() and not list(sweep.rglob("metrics.json"))
