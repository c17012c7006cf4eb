"""Issue 15: under the stacked sweep launcher (which trains every job after all are set up), each
job's `train.log` holds that job's own lines, as with Hydra's other launchers."""

import json
import logging
import sys

from conftest import FAST


def test_each_stacked_sweep_job_logs_its_own_lines(tmp_path, monkeypatch):
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
