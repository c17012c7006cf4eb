"""`xnet.runtime`: the cores a process may use (affinity and cgroup quota, not the host's count)
and the one switch of the speed machinery (`XNET_SPEED_OFF`)."""

from __future__ import annotations

import gc

import pytest

from xnet.errors import XnetError
from xnet.runtime import cores, startup, switch


@pytest.mark.parametrize(
    "files, quota",
    [
        ({"cpu.max": "max 100000\n"}, None),  # v2, no limit
        ({"cpu.max": "150000 100000\n"}, 1.5),  # v2, `docker run --cpus 1.5`
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({"cpu,cpuacct/cpu.cfs_quota_us": "50000", "cpu,cpuacct/cpu.cfs_period_us": "100000"}, 0.5),
        ({"cpu.max": "garbled"}, None),
        ({}, None),  # no cgroup file system (not Linux)
    ],
)
def test_cgroup_quota_from_v2_and_v1_files(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cores.cgroup_quota(tmp_path) == quota


def test_usable_cores_are_the_affinity_capped_by_the_quota(tmp_path, monkeypatch):
    """A 64-core host seen by a process pinned to 8 cores in a container of 2.5 CPUs: 3 cores
    (the quota rounded up), not `os.cpu_count()`; the idle cores are counted within them."""
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(cores, "CGROUP_ROOT", tmp_path)
    assert cores.usable_cores() == 8  # no quota file
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    assert cores.usable_cores() == 3
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert cores.usable_cores() == 1  # half a core is still one to run on
    (tmp_path / "cpu.max").write_text("250000 100000\n")
    monkeypatch.setattr(cores, "busy_cores", lambda: 1)
    assert (cores.free_cores(), cores.idle_cores()) == (2, 1)
    monkeypatch.setattr(cores, "busy_cores", lambda: 40)  # the host's run queue, other tenants
    assert (cores.free_cores(), cores.idle_cores()) == (1, 0)


def test_busy_cores_leave_out_this_process_own_running_threads(tmp_path, monkeypatch):
    """The run queue counts threads, a stack's own second torch thread among them: a process
    running two threads beside one other busy process finds one busy core, not two (before, a
    two-thread stack found its own thread busy, dropped to one thread, then took the core back,
    every other check)."""
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "active_children", lambda: [])
    monkeypatch.setattr(cores, "PROC", tmp_path)
    (tmp_path / "loadavg").write_text("1.90 1.40 1.20 3/211 4242\n")
    for tid, state in ((100, "R"), (101, "R"), (102, "S")):
        (tmp_path / "self" / "task" / str(tid)).mkdir(parents=True)
        (tmp_path / "self" / "task" / str(tid) / "stat").write_text(
            f"{tid} (pt_main (thread)) {state} 1 100 100 0 -1\n"  # a name with spaces and parens
        )
    assert cores.own_running_threads() == 2
    assert cores.busy_cores() == 1
    (tmp_path / "self" / "task" / "101" / "stat").write_text("101 (python) S 1 100 100 0 -1\n")
    assert (cores.own_running_threads(), cores.busy_cores()) == (1, 2)


def test_the_switch_names_pieces_and_refuses_unknown_ones(monkeypatch):
    monkeypatch.delenv(switch.VARIABLE, raising=False)
    assert switch.off() == set() and all(switch.on(p) for p in switch.PIECES)
    monkeypatch.setenv(switch.VARIABLE, "all")
    assert switch.off() == set(switch.PIECES)
    monkeypatch.setenv(switch.VARIABLE, " Draw_Ahead ")
    assert switch.off() == {"draw_ahead"} and switch.on("gc")
    monkeypatch.setenv(switch.VARIABLE, "gc,prefetch")  # a piece removed is unknown now
    with pytest.raises(XnetError, match=r"^XNET_SPEED_OFF=gc,prefetch: unknown piece prefetch; "):
        switch.off()


def test_switched_off_the_collector_is_not_paused(monkeypatch):
    monkeypatch.setenv(switch.VARIABLE, "gc")
    gc.enable()  # an entry point called in-process earlier may have left it paused
    try:
        startup.pause()
        assert gc.isenabled()
        monkeypatch.setenv(switch.VARIABLE, "draw_ahead")
        startup.pause()
        assert not gc.isenabled()
    finally:
        startup.resume()
        gc.enable()
        gc.unfreeze()


@pytest.mark.cli
def test_every_piece_off_gives_the_same_run_and_a_bad_switch_is_one_line(tmp_path):
    """`XNET_SPEED_OFF=all` runs the same command in-process, in order: the same metrics.json and
    the same figure files as with every piece on (a first run: its data figures drawn ahead); an
    unknown piece is one line, exit 2, nothing run."""
    import json

    from conftest import run_cli

    args = ["cv.folds=2", "trainer.max_epochs=3", "logger=none"]
    files = {}
    for name, off in (("on", ""), ("off", "all")):
        env = {"XNET_SPEED_OFF": off, "XNET_DATA_HOME": str(tmp_path / f"home_{name}")}
        done = run_cli("xnet.train", *args, f"hydra.run.dir={tmp_path / name}", env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        files[name] = sorted(p.name for p in (tmp_path / name).glob("*.png"))
    metrics = [json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("on", "off")]
    assert metrics[0]["mean"] == metrics[1]["mean"] and metrics[0]["folds"] == metrics[1]["folds"]
    assert files["on"] == files["off"] and "class_shares.png" in files["on"]

    bad = run_cli("xnet.train", f"hydra.run.dir={tmp_path / 'bad'}", env={"XNET_SPEED_OFF": "gpu"})
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "xnet: error: XNET_SPEED_OFF=gpu: unknown piece gpu; use all, or a comma-separated list "
        "of gc, draw_ahead"
    ]
    assert not (tmp_path / "bad").exists()
