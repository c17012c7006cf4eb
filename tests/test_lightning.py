"""Lightning for real: a LightningModule that is not part of xnet, chosen by `model._target_`,
trains on the plain engine end to end (metrics.json, TensorBoard, checkpoint, `xnet.predict`);
the plain engine on the 30-30 MLP computes what the stacked engine computes; every trainer flag,
logger and callback either takes effect or is refused in one line."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import LIN_CSV, compose_config, run_cli
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

import xnet.training.evaluation as evaluation
from xnet.api import predict, train
from xnet.config.compose import CONFIG_DIR
from xnet.config.schema import check_override_keys
from xnet.config.trainer_args import TRAINER_ARGS
from xnet.errors import XnetError
from xnet.predict import probability_column
from xnet.training.run import check_config

QUICK = ["figures.enabled=false"]
PLUGGED = ["model._target_=test_lightning.TinyNet", "+model.width=12", "trainer.max_epochs=4"]


class TinyNet(L.LightningModule):
    """A model xnet does not know: one tanh layer of `width` units, AdamW, its own optimiser."""

    def __init__(self, n_features: int, n_classes: int, width: int = 8, lr: float = 3e-3):
        super().__init__()
        self.save_hyperparameters()
        self.body = nn.Sequential(
            nn.Linear(n_features, width), nn.Tanh(), nn.Linear(width, n_classes)
        )

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.body(inputs["features"])

    def configure_optimizers(self):  # a scheduler that asks the Trainer, as Lightning users do
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)
        steps = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.trainer.max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": steps}


class WrongShape(TinyNet):
    def forward(self, inputs):
        return super().forward(inputs)[:, :1]


class Recorder(L.Callback):
    """A callback from the config: records what the Trainer ran with."""

    seen: list = []

    def on_fit_start(self, trainer, pl_module) -> None:
        Recorder.seen.append(
            {"precision": trainer.precision, "epochs": trainer.max_epochs, "module": pl_module}
        )


def test_a_lightning_module_named_by_config_trains_end_to_end_and_predicts(tmp_path, monkeypatch):
    seen = []
    original = evaluation.evaluate_trained

    def spy(member, model, *args):
        seen.append(original(member, model, *args))
        return seen[-1]

    monkeypatch.setattr(evaluation, "evaluate_trained", spy)
    run = tmp_path / "run"
    metrics = train([*PLUGGED, *QUICK], run)
    assert metrics == json.loads((run / "metrics.json").read_text())
    assert metrics["n_test"] == 198 and metrics["epochs"] == 4 and 0 < metrics["accuracy"] <= 1

    # the checkpoint names the class and its plain arguments; the plain MLP's NumPy export is absent
    ckpt = torch.load(run / metrics["checkpoint"], weights_only=True)
    hp = ckpt["hyper_parameters"]
    assert hp["model_class"] == "test_lightning.TinyNet" and "hidden" not in hp
    assert hp["model_args"] == {"n_features": 10, "n_classes": 3, "width": 12, "lr": 0.01}
    assert ckpt["state_dict"]["net.body.0.weight"].shape == (12, 10)
    assert not (run / metrics["checkpoint"]).with_suffix(".npz").exists()

    # TensorBoard: the member's scalars per epoch (Lightning's logger, xnet's layout) and the run's
    events = EventAccumulator(str(run / "tensorboard" / "members" / "holdout"))
    events.Reload()
    scalars = {"train/loss", "val/loss", "val/balanced_accuracy", "val/macro_f1", "val/acc_CV"}
    assert scalars <= set(events.Tags()["scalars"])
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(events.Tags()["images"])
    assert [e.step for e in events.Scalars("val/loss")] == list(range(4))
    job = EventAccumulator(str(run / "tensorboard"))  # its curves: the mean of its networks'
    job.Reload()
    assert job.Scalars("hp/accuracy")[0].value == pytest.approx(metrics["accuracy"])
    assert [e.step for e in job.Scalars("Fit/loss_val")] == list(range(4))
    assert {"Fit/loss_train", "Recall/CV"} <= set(job.Tags()["scalars"])

    # xnet.predict on the bundled catalog gives the training side's test probabilities
    (result,) = seen
    table = predict(run, LIN_CSV)
    ids = result.member.job.data.frame["source_id"].to_numpy(dtype=object)
    test_ids = ids[result.member.split.test]
    columns = [probability_column(c) for c in metrics["classes"]]
    got = table.set_index("name").loc[test_ids, columns].to_numpy(dtype=float)
    np.testing.assert_allclose(got, result.proba["test"], rtol=1e-6, atol=1e-6)
    with pytest.raises(
        XnetError, match="explain=2: explanations cover catalog-feature networks only"
    ):
        predict(run, LIN_CSV, overrides=["explain=2"])


def test_the_plain_engine_computes_the_stacked_engines_mlp(tmp_path):
    """Same initial weights, batches, loss and Adam: after 6 epochs the 30-30 MLP of either engine
    holds the same weights up to float rounding (1e-7 measured; the margin is 1000 times that)."""
    weights = {}
    for engine in ("stacked", "plain"):
        run = tmp_path / engine
        metrics = train([f"engine={engine}", "trainer.max_epochs=6", "logger=none", *QUICK], run)
        weights[engine] = torch.load(run / metrics["checkpoint"], weights_only=True)["state_dict"]
    assert weights["stacked"].keys() == weights["plain"].keys()
    for key, value in weights["stacked"].items():
        torch.testing.assert_close(weights["plain"][key], value, atol=1e-4, rtol=0)


def test_trainer_flags_and_callbacks_reach_lightning_on_the_plain_engine(tmp_path):
    Recorder.seen.clear()
    metrics = train(
        [
            "engine=plain",
            "trainer.precision=bf16-mixed",
            "trainer.max_epochs=2",
            "+trainer.gradient_clip_val=1.0",
            "callbacks=lr_monitor",
            "+callbacks.recorder._target_=test_lightning.Recorder",
            "logger=csv",
            *QUICK,
        ],
        tmp_path / "run",
    )
    (fit,) = Recorder.seen
    assert fit["precision"] == "bf16-mixed" and fit["epochs"] == 2
    assert metrics["epochs"] == 2
    table = pd.read_csv(tmp_path / "run" / "csv" / "members" / "holdout" / "metrics.csv")
    assert {"val/loss", "train/loss", "val/acc_AGN"} <= set(table.columns)
    assert any(c.startswith("lr-Adam") for c in table.columns)  # callbacks=lr_monitor
    assert sorted(table.dropna(subset=["val/loss"])["step"]) == [0, 1]  # epochs


@pytest.fixture(scope="module")
def base_cfg():
    return compose_config([])


def with_values(cfg, values: dict):
    """The composed config with `values` set (as overrides, without composing again)."""
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


CSV = {"_target_": "lightning.pytorch.loggers.CSVLogger"}


@pytest.mark.parametrize(
    "values, line",
    [
        (
            {"trainer.precision": "bf16-mixed"},
            "trainer.precision=bf16-mixed: the stacked engine supports trainer.{max_epochs, "
            "accelerator, devices, deterministic, max_time, enable_progress_bar, "
            "enable_model_summary}; use engine=plain (or model._target_=...) for trainer.precision",
        ),
        ({"trainer.gradient_clip_val": 1}, "use engine=plain (or model._target_=...)"),
        ({"trainer.log_every_n_steps": 5}, "for trainer.log_every_n_steps"),
        ({"trainer.devices": 2}, "trainer.devices=2: the stacked engine trains on one device"),
        ({"logger.loggers.csv": CSV}, "logger.loggers.csv: the stacked engine writes TensorBoard"),
        ({"callbacks.lr": {"_target_": "x.Y"}}, "callbacks.lr: the stacked engine"),
        ({"trainer.logger": False, "engine": "plain"}, "trainer.logger: set by xnet; use the"),
        ({"trainer.precison": 16, "engine": "plain"}, "did you mean trainer.precision?"),
        ({"engine": "stacked", "model._target_": "test_lightning.TinyNet"}, "engine=stacked"),
        ({"model._target_": "no_such_package.Net"}, "no module named 'no_such_package'"),
        ({"callbacks.x.verbose": True, "engine": "plain"}, "callbacks.x: needs a _target_"),
        ({"engine": "fast"}, "engine=fast: must be one of auto, stacked, plain"),
    ],
)
def test_what_an_engine_does_not_honour_is_one_line_before_any_work(base_cfg, values, line):
    with pytest.raises(XnetError) as err:
        check_config(with_values(base_cfg, values))
    assert line in str(err.value) and "\n" not in str(err.value)


def test_the_stacked_engine_takes_its_flags_and_the_file_defaults(base_cfg):
    check_config(base_cfg)
    check_config(with_values(base_cfg, {"trainer.max_time": "00:00:10:00", "trainer.devices": 1}))
    check_config(with_values(base_cfg, {"engine": "plain", "trainer.benchmark": False}))
    check_config(compose_config(["engine=plain", "logger=csv", "callbacks=lr_monitor"]))


def test_mlflow_is_refused_in_one_line_where_it_is_not_installed():
    try:
        import mlflow  # noqa: F401
    except ImportError:
        with pytest.raises(XnetError, match=r"needs the mlflow package.*pip install mlflow"):
            check_config(compose_config(["engine=plain", "logger=mlflow"]))
    else:  # installed: the config is accepted
        check_config(compose_config(["engine=plain", "logger=mlflow"]))


@pytest.mark.parametrize(
    "argv, line",
    [
        (["trainer.precison=16"], "trainer.precison: not an argument of lightning.Trainer"),
        (["trainer.gradient_clip_val=1"], "add it with +trainer.gradient_clip_val=<value>"),
    ],
)
def test_trainer_keys_on_the_command_line_are_closed(argv, line):
    with pytest.raises(XnetError, match=line.replace("+", r"\+")):
        check_override_keys(argv, "train", CONFIG_DIR)
    check_override_keys(["model._target_=my.Net", "+model.width=3"], "train", CONFIG_DIR)


def test_trainer_args_are_the_installed_lightnings():
    names = [n for n in inspect.signature(L.Trainer.__init__).parameters if n != "self"]
    assert list(TRAINER_ARGS) == names


@pytest.mark.parametrize(
    "overrides, line",
    [
        (
            ["model._target_=test_lightning.TinyNet", "+model.widht=3"],
            "model.widht: not an argument of test_lightning.TinyNet",
        ),
        (["model._target_=test_lightning.WrongShape"], "it must return class logits of shape"),
        (["model._target_=json.JSONDecoder"], "not a torch.nn.Module"),
    ],
)
def test_a_plugged_model_that_breaks_the_contract_is_one_line(tmp_path, overrides, line):
    with pytest.raises(XnetError, match=line):
        train([*overrides, "trainer.max_epochs=1", "logger=none", *QUICK], tmp_path / "run")


@pytest.mark.slow
def test_plain_and_stacked_cv_metrics_agree_within_seed_noise(tmp_path):
    """5-fold CV of the 30-30 MLP, seeds 1-3, on either engine. The engines compute the same
    fit up to float rounding, which a few folds amplify over hundreds of epochs into another best
    epoch; so the bound is seed noise itself: the seed means may differ by no more than three
    standard errors of the difference of two means of independent seeds (measured here: 0.003 in
    balanced accuracy against a bound of about 0.08)."""
    values = {"stacked": [], "plain": []}
    for seed in (1, 2, 3):
        for engine, rows in values.items():
            metrics = train(
                [f"engine={engine}", f"seed={seed}", "cv.folds=5", "logger=none", *QUICK],
                tmp_path / f"{engine}{seed}",
            )
            rows.append([metrics["mean"][k] for k in ("balanced_accuracy", "accuracy")])
    stacked, plain = np.array(values["stacked"]), np.array(values["plain"])
    deviations = np.concatenate([stacked - stacked.mean(0), plain - plain.mean(0)])
    noise = np.maximum(np.sqrt((deviations**2).sum(0) / (len(deviations) - 2)), 0.01)
    bound = 3 * noise * np.sqrt(2 / len(stacked))
    assert (np.abs(plain.mean(0) - stacked.mean(0)) <= bound).all(), (stacked, plain, bound)


@pytest.mark.cli
def test_a_sweep_of_a_plugged_model_with_cv_and_ensembles(tmp_path):
    """The command line: a sweep over a plugged model's own key, each job a 2-fold CV with two
    networks per fold, all on the plain engine; one TensorBoard run per job, members nested."""
    sweep = tmp_path / "sweep"
    result = run_cli(
        "xnet.train",
        "-m",
        "model._target_=test_lightning.TinyNet",
        "+model.width=4,8",
        "cv.folds=2",
        "ensemble.members=2",
        "trainer.max_epochs=2",
        "figures.enabled=false",
        f"hydra.sweep.dir={sweep}",
        env={"PYTHONPATH": str(Path(__file__).parent)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(pd.read_csv(sweep / "summary.csv")) == 2
    networks = ["fold_0-m0", "fold_0-m1", "fold_1-m0", "fold_1-m1"]
    for job, width in (("0", 4), ("1", 8)):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        assert [len(fold["checkpoints"]) for fold in metrics["folds"]] == [2, 2]
        ckpt = torch.load(sweep / job / metrics["folds"][1]["checkpoints"][1], weights_only=True)
        assert ckpt["hyper_parameters"]["model_args"]["width"] == width
        members = sweep / "tensorboard" / f"width={width}" / "members"
        assert sorted(p.name for p in members.iterdir()) == networks
