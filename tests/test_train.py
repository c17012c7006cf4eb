"""Training end to end on the bundled data, in-process (the command's own functions, composed
config): outputs, TensorBoard, checkpoints, user catalogs, bad input. The `cli` tests run the real
command line: sweeps with the stacked launcher and the one-line error format."""

import json

import pandas as pd
import pytest
import torch
from conftest import CSC_CSV, FAST, compose_config, raw_lin, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from xnet.api import train
from xnet.data.preprocessing import scaler_from_state, transform
from xnet.errors import XnetError
from xnet.models import Classifier, XrayClassifier
from xnet.models.artifacts.checkpoint import load_classifier, read_checkpoint
from xnet.train import check_group_choices


def test_default_run_writes_metrics_checkpoint_and_tensorboard(tmp_path):
    run = tmp_path / "run"
    metrics = train(["trainer.max_epochs=30", "figures.enabled=false"], run)
    assert metrics == json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"] == "xmm_lin2024" and metrics["features"] == "xray"
    assert metrics["classes"] == ["AGN", "CV", "LM-STAR"]
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        assert 0 < metrics[key] <= 1
    # beats always-AGN (137/198 = 0.69) by more than three binomial standard errors (3 x 0.033)
    assert metrics["accuracy"] > 0.79
    cm = metrics["confusion_matrix"]
    assert sum(map(sum, cm)) == metrics["n_test"] == 198
    assert [metrics["per_class"][c]["support"] for c in metrics["classes"]] == [sum(r) for r in cm]
    assert metrics["accuracy"] == pytest.approx(sum(cm[i][i] for i in range(3)) / 198)

    events = EventAccumulator(
        str(run / "tensorboard" / "members" / "holdout"), size_guidance={"images": 0}
    )
    events.Reload()
    scalars, images = events.Tags()["scalars"], events.Tags()["images"]
    for c in metrics["classes"]:
        assert f"val/acc_{c}" in scalars
    assert {"train/loss", "val/loss", "train/accuracy", "val/balanced_accuracy"} <= set(scalars)
    assert not any(tag.startswith("test/") for tag in scalars)  # one value: the job's results text
    job = EventAccumulator(
        str(run / "tensorboard")
    )  # the run's own TensorBoard run: its curves, hparams session and results
    job.Reload()
    assert job.Scalars("hp/balanced_accuracy")[0].value == pytest.approx(
        metrics["balanced_accuracy"]
    )
    assert {"Fit/loss_val", "Recall/CV"} <= set(job.Tags()["scalars"])
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(images)

    # the checkpoint loads anywhere (plain hyperparameters) and carries classes and scaler
    ckpt_path = run / metrics["checkpoint"]
    state = torch.load(ckpt_path, weights_only=True)
    dm_state = state["XrayDataModule"]
    assert (
        dm_state["classes"] == metrics["classes"]
        and dm_state["feature_names"] == metrics["feature_names"]
    )
    model = XrayClassifier.load_from_checkpoint(ckpt_path, weights_only=True)
    assert model.hparams.hidden == 30 and model.class_names == metrics["classes"]
    scaler = scaler_from_state(dm_state["scaler"])
    x = torch.as_tensor(transform(scaler, torch.zeros(4, len(dm_state["feature_names"])).numpy()))
    # the plain module (what xnet.predict uses, no Lightning) computes what Lightning's loader gives
    plain = load_classifier(read_checkpoint(ckpt_path))
    torch.testing.assert_close(plain.predict_proba(x), model.predict_proba(x))
    assert float(plain.temperature) == float(state["state_dict"]["temperature"])
    assert float(plain.temperature) == metrics["calibration"]["temperature"]


def test_checkpoint_of_the_previous_layout_still_loads(tmp_path):
    """Checkpoints written before the sub-package layout hold the same plain hyperparameters
    and weight names: both loaders read one (written here as that code wrote it)."""
    old = {
        "state_dict": {
            **{k: torch.zeros_like(v) for k, v in Classifier(3, ["a", "b"]).state_dict().items()}
        },
        "hyper_parameters": dict(
            n_features=3,
            class_names=["a", "b"],
            hidden=30,
            depth=2,
            dropout=0.0,
            lr=0.01,
            beta1=0.15,
            beta2=0.99,
            eps=1e-10,
            l2_alpha=1e-4,
            batch_size=200,
            class_weighted=False,
            prior_power=0.0,
            class_prior=[0.5, 0.5],
        ),
        "pytorch-lightning_version": "2.6.0",
        "epoch": 3,
        "global_step": 0,
    }
    old["state_dict"]["temperature"] = torch.tensor(2.0)
    torch.save(old, tmp_path / "old.ckpt")
    plain = load_classifier(read_checkpoint(tmp_path / "old.ckpt"))
    lightning = XrayClassifier.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=True)
    assert float(plain.temperature) == float(lightning.temperature) == 2.0
    assert plain.class_prior == [0.5, 0.5] and lightning.hparams.lr == 0.01


def test_cross_validation_writes_fold_blocks_and_mean_std(tmp_path):
    metrics = train(["data=csc_muwclass", "cv.folds=3", *FAST], tmp_path / "cv")
    assert len(metrics["folds"]) == 3 and metrics["n_test"] == 2941
    assert sum(f["n_test"] for f in metrics["folds"]) == 2941
    mean = sum(f["balanced_accuracy"] for f in metrics["folds"]) / 3
    assert metrics["mean"]["balanced_accuracy"] == pytest.approx(mean)
    assert metrics["std"]["accuracy"] >= 0 and set(metrics["mean"]["recall"]) == set(
        metrics["classes"]
    )


def test_catalog_added_from_user_config_dir(tmp_path):
    """A new labelled catalog is one YAML in the user's own config dir: no code change."""
    frame = pd.read_csv(CSC_CSV).rename(
        columns={"Fs": "soft", "Fm": "medium", "Fh": "hard", "Fb": "broad", "True_Class": "cls"}
    )
    frame.to_csv(tmp_path / "mine.csv", index=False)
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "mycat.yaml").write_text(
        f"""name: mycat
path: {tmp_path / "mine.csv"}
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
    # in-process, `--config-dir` is Hydra's search path
    metrics = train(
        compose_config([f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "data=mycat", *FAST]),
        tmp_path / "run",
    )
    assert metrics["dataset"] == "mycat" and metrics["classes"] == ["AGN", "LM-STAR", "YSO"]
    assert metrics["feature_names"] == [
        "log_flux",
        "hr_ms",
        "hr_hm",
        "hr_hms",
        "p_intra",
        "p_intra_missing",
    ]


def bad_csv(tmp_path, name, edit):
    frame = raw_lin().iloc[:200].copy()
    frame = edit(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


BAD_INPUT = {
    "no_label": (
        lambda p: [f"data.path={bad_csv(p, 'a.csv', lambda f: f.drop(columns=['Class']))}"],
        "label column 'Class' not found",
    ),
    "mapped_column_absent": (
        lambda p: [f"data.path={bad_csv(p, 'b.csv', lambda f: f.drop(columns=['HR3']))}"],
        "column 'HR3' (for hr3) not found",
    ),
    "empty_file": (lambda p: [f"data.path={(p / 'e.csv').absolute()}"], "file is empty"),
    "text_in_feature": (
        lambda p: [f"data.path={bad_csv(p, 'c.csv', lambda f: f.assign(sc_fvar='high'))}"],
        "column 'sc_fvar' (feature input 'fvar') holds non-numeric text 'high'",
    ),
    "unknown_class": (lambda p: ["data.classes=[AGN,GALAXY]"], "unknown class 'GALAXY'"),
    "unknown_feature_set": (
        lambda p: ["features=optical_only"],
        "features=optical_only: no such features config",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_clear_error_and_no_output(tmp_path, case):
    """What the command does with its arguments: check the group choices, compose, train."""
    (tmp_path / "e.csv").write_text("")
    make_args, expected = BAD_INPUT[case]
    args, run = [*make_args(tmp_path), *FAST], tmp_path / "run"
    with pytest.raises(XnetError) as err:
        check_group_choices(args)
        train(compose_config(args), run)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not (run / "metrics.json").exists() and not (run / "checkpoints").exists()


@pytest.mark.cli
def test_bad_input_on_the_command_line_is_one_line_without_traceback(tmp_path):
    make_args, expected = BAD_INPUT["text_in_feature"]
    run = tmp_path / "run"
    result = run_cli("xnet.train", *make_args(tmp_path), f"hydra.run.dir={run}", *FAST)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    assert len([line for line in result.stderr.splitlines() if expected in line]) == 1
    assert not (run / "metrics.json").exists()
