"""Issue 15: under the stacked sweep launcher (which trains every job after all are set up), each
job's `train.log` holds that job's own lines, as with Hydra's other launchers."""

import json
import logging
import sys

from conftest import FAST


def test_each_stacked_sweep_job_logs_its_own_lines(tmp_path, monkeypatch, capsys):
    """Issue 23 too: the console shows one result line per job named by its overrides, the data
    summary and each warning once, no `[HYDRA]` tag; every job's log has the data warnings; the
    summary table has one number format and no trailing spaces."""
    from xnet.train import _hydra_main

    sweep = tmp_path / "sweep"
    monkeypatch.setattr(
        sys, "argv", ["xnet.train", "-m", "model.hidden=6,9", *FAST, f"hydra.sweep.dir={sweep}"]
    )
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        _hydra_main()  # in-process multirun with the default launcher, xnet_stacked
    finally:  # Hydra reconfigures the root logger; give pytest's back
        root.handlers[:] = handlers
        root.setLevel(level)
    for job in ("0", "1"):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        lines = (sweep / job / "train.log").read_text().splitlines()
        own = [line for line in lines if "holdout:" in line and "calibration:" not in line]
        cal = metrics["calibration"]
        assert len(own) == 1 and f"test (n={metrics['n_test']})" in own[0]
        assert (
            f"ECE {cal['ece_test_before']:.3f} -> {cal['ece_test_after']:.3f}" in own[0]
        )  # this job's network
        assert any("[xnet.train][INFO] - xmm_lin2024: 988 sources" in line for line in lines)
        assert sum(
            "[WARNING]" in line and "small sample: class CV" in line for line in lines
        ) == len([w for w in metrics["warnings"] if w.startswith("small sample: class CV")])
        assert any("[WARNING]" in line and "classes with fewer than 10" in line for line in lines)
    out = capsys.readouterr().out
    assert "[HYDRA]" not in out and "holdout:" not in out  # per-network lines: the jobs' logs
    results = [line.split("] ", 1)[1] for line in out.splitlines() if ": balanced accuracy" in line]
    assert [r.split(":")[0] for r in results] == ["hidden=6", "hidden=9"]
    assert all(r.endswith("(test, n=198)") for r in results)
    assert out.count("xmm_lin2024: 988 sources") == 1
    assert out.count("small sample: class CV has 4 test sources") == 1
    table = out[out.index("Sweep summary") :].splitlines()[1:4]
    assert table[0].split()[:3] == ["job", "overrides", "balanced_accuracy"]
    for row in table[1:]:
        assert row == row.rstrip() and all(len(v.split(".")[1]) == 4 for v in row.split()[2:])
