"""The real command line end to end on the bundled data: outputs, TensorBoard, sweeps, user catalogs."""

import json

import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import CSC_CSV, FAST, raw_lin, run_cli
from xnet.models.stacked import XrayClassifier
from xnet.data.preprocessing import scaler_from_state, transform


def test_default_run_writes_metrics_checkpoint_and_tensorboard(tmp_path):
    run = tmp_path / "run"
    result = run_cli("xnet.train", f"hydra.run.dir={run}", "trainer.max_epochs=30")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"] == "xmm_lin2024" and metrics["features"] == "xray"
    assert metrics["classes"] == ["AGN", "CV", "LM-STAR"]
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        assert 0 < metrics[key] <= 1
    assert metrics["accuracy"] > 0.69  # beats always-AGN on the real slice (137/198 = 0.69)
    cm = metrics["confusion_matrix"]
    assert sum(map(sum, cm)) == metrics["n_test"] == 198
    assert [metrics["per_class"][c]["support"] for c in metrics["classes"]] == [sum(r) for r in cm]
    assert metrics["accuracy"] == pytest.approx(sum(cm[i][i] for i in range(3)) / 198)
    assert (run / ".hydra" / "config.yaml").exists()

    events = EventAccumulator(str(run / "tensorboard" / "holdout"), size_guidance={"images": 0})
    events.Reload()
    scalars, images = events.Tags()["scalars"], events.Tags()["images"]
    for c in metrics["classes"]:
        assert f"val/acc_{c}" in scalars and f"test/acc_{c}" in scalars
    assert {"train/loss", "val/loss", "train/accuracy", "val/balanced_accuracy", "hp/test_balanced_accuracy"} <= set(scalars)
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(images)

    # the checkpoint loads anywhere (plain hyperparameters) and carries classes and scaler
    ckpt_path = run / metrics["checkpoint"]
    state = torch.load(ckpt_path, weights_only=True)
    dm_state = state["XrayDataModule"]
    assert dm_state["classes"] == metrics["classes"] and dm_state["feature_names"] == metrics["feature_names"]
    model = XrayClassifier.load_from_checkpoint(ckpt_path, weights_only=True)
    assert model.hparams.hidden == 30 and model.class_names == metrics["classes"]
    scaler = scaler_from_state(dm_state["scaler"])
    assert transform(scaler, torch.zeros(1, len(dm_state["feature_names"])).numpy()).shape == (1, 10)


def test_cross_validation_writes_fold_blocks_and_mean_std(tmp_path):
    run = tmp_path / "cv"
    result = run_cli("xnet.train", "data=csc_muwclass", "cv.folds=3", f"hydra.run.dir={run}", *FAST)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["folds"]) == 3 and metrics["n_test"] == 2941
    assert sum(f["n_test"] for f in metrics["folds"]) == 2941
    mean = sum(f["balanced_accuracy"] for f in metrics["folds"]) / 3
    assert metrics["mean"]["balanced_accuracy"] == pytest.approx(mean)
    assert metrics["std"]["accuracy"] >= 0 and set(metrics["mean"]["recall"]) == set(metrics["classes"])


def test_two_value_multirun_writes_jobs_and_summary(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("xnet.train", "-m", "model.hidden=4,16", f"hydra.sweep.dir={sweep}", *FAST)
    assert result.returncode == 0, result.stderr
    for job in ("0", "1"):
        assert (sweep / job / "metrics.json").exists()
    summary = pd.read_csv(sweep / "summary.csv")
    assert len(summary) == 2 and set(summary["overrides"].str.extract(r"model.hidden=(\d+)")[0]) == {"4", "16"}
    assert summary["balanced_accuracy"].is_monotonic_decreasing
    assert "Sweep summary" in result.stdout


def test_catalog_added_from_user_config_dir(tmp_path):
    """A new labelled catalog is one YAML in the user's own config dir: no code change."""
    frame = pd.read_csv(CSC_CSV).rename(columns={"Fs": "soft", "Fm": "medium", "Fh": "hard", "Fb": "broad", "True_Class": "cls"})
    frame.to_csv(tmp_path / "mine.csv", index=False)
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "mycat.yaml").write_text(
        f"""name: mycat
path: {tmp_path / 'mine.csv'}
label: cls
id: CSCv2_name
ra: CSCv2_RA
dec: CSCv2_DEC
classes: [AGN, YSO, LM-STAR]
filters: {{}}
columns:
  flux_soft: soft
  flux_medium: medium
  flux_hard: hard
  flux_total: broad
  p_intra: P_intra
"""
    )
    run = tmp_path / "run"
    result = run_cli("xnet.train", "--config-dir", str(tmp_path / "conf"), "data=mycat", f"hydra.run.dir={run}", *FAST)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"] == "mycat" and metrics["classes"] == ["AGN", "LM-STAR", "YSO"]
    assert metrics["feature_names"] == ["log_flux", "hr_ms", "hr_hm", "hr_hms", "p_intra", "p_intra_missing"]


def bad_csv(tmp_path, name, edit):
    frame = raw_lin().iloc[:200].copy()
    frame = edit(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "case",
    ["no_label", "mapped_column_absent", "empty_file", "text_in_feature", "unknown_class", "unknown_feature_set"],
)
def test_bad_input_is_one_line_without_traceback(tmp_path, case):
    args = {
        "no_label": lambda: [f"data.path={bad_csv(tmp_path, 'a.csv', lambda f: f.drop(columns=['Class']))}"],
        "mapped_column_absent": lambda: [f"data.path={bad_csv(tmp_path, 'b.csv', lambda f: f.drop(columns=['HR3']))}"],
        "empty_file": lambda: [f"data.path={(tmp_path / 'e.csv').absolute()}"],
        "text_in_feature": lambda: [f"data.path={bad_csv(tmp_path, 'c.csv', lambda f: f.assign(sc_fvar='high'))}"],
        "unknown_class": lambda: ["data.classes=[AGN,GALAXY]"],
        "unknown_feature_set": lambda: ["features=optical_only"],
    }
    (tmp_path / "e.csv").write_text("")
    expected = {
        "no_label": "label column 'Class' not found",
        "mapped_column_absent": "column 'HR3' (for hr3) not found",
        "empty_file": "file is empty",
        "text_in_feature": "column 'sc_fvar' (feature input 'fvar') holds non-numeric text 'high'",
        "unknown_class": "unknown class 'GALAXY'",
        "unknown_feature_set": "features=optical_only: no such features config",
    }[case]
    run = tmp_path / "run"
    result = run_cli("xnet.train", *args[case](), f"hydra.run.dir={run}", *FAST)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if expected in line]
    assert len(errors) == 1
    assert not (run / "metrics.json").exists() and not (run / "checkpoints").exists()
