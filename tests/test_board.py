"""TensorBoard laid out for browsing a sweep: one run per job named by its varying overrides,
members nested under `members/`, one hparams session per job with CV mean/std, custom scalars,
per-class counts in descriptions. The assertions read the event files."""

import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from xnet.training.board import run_name, varying_overrides


def sweep_in_process(monkeypatch, *args: str) -> None:
    """`python -m xnet.train -m args...` in this process (Hydra's own multirun, stacked launcher)."""
    from xnet.train import _hydra_main

    monkeypatch.setattr(sys, "argv", ["xnet.train", "-m", *args])
    _hydra_main()


def hparams_sessions(root: Path) -> dict[str, dict]:
    """{run: {"hparams": {...}, "metrics": {tag: value}}} for every run holding a session start."""
    sessions = {}
    for events_file in root.rglob("events.out.tfevents.*"):
        run = events_file.parent
        acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
        acc.Reload()
        try:
            content = acc.PluginTagToContent("hparams")
        except KeyError:  # a run without hparams
            continue
        if "_hparams_/session_start_info" not in content:
            continue
        data = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        hparams = {
            k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
            for k, v in data.session_start_info.hparams.items()
        }
        metrics = {
            tag: acc.Scalars(tag)[-1].value
            for tag in acc.Tags()["scalars"]
            if tag.startswith("hp/")
        }
        experiment = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/experiment"]
        ).experiment
        columns = [info.name for info in experiment.hparam_infos if info.differs]
        sessions[str(run.relative_to(root))] = {
            "hparams": hparams,
            "columns": columns,
            "metrics": metrics,
            "acc": acc,
        }
    return sessions


def test_sweep_writes_one_named_hparams_session_per_job_with_members_nested(tmp_path, monkeypatch):
    sweep = tmp_path / "sweep"
    sweep_in_process(
        monkeypatch,
        "data=csc_muwclass",
        "features=xray_mw",
        "cv.folds=3",
        "model.hidden=10,30",
        "trainer.max_epochs=3",
        "figures.enabled=false",
        f"hydra.sweep.dir={sweep}",
    )
    sessions = hparams_sessions(sweep)
    assert sorted(sessions) == ["tensorboard/hidden=10", "tensorboard/hidden=30"]
    for name, session in sessions.items():
        width = int(name.rsplit("=", 1)[1])
        assert session["hparams"]["model.hidden"] == width
        assert session["columns"] == [
            "model.hidden"
        ]  # the varying key: HPARAMS shows it first, ticked
        assert {"model.depth", "data", "features", "cv.folds"} <= set(session["hparams"])
        assert 0 < session["metrics"]["hp/cv_mean_balanced_accuracy"] <= 1
        assert session["metrics"]["hp/cv_std_balanced_accuracy"] >= 0
        layout = session["acc"].PluginTagToContent("custom_scalars")
        assert layout  # the job's custom-scalars layout
    # members nested under their job, each with per-epoch per-class curves that say their count
    members = sorted(p.name for p in (sweep / "tensorboard" / "hidden=30" / "members").iterdir())
    assert members == ["fold_0", "fold_1", "fold_2"]
    acc = EventAccumulator(str(sweep / "tensorboard" / "hidden=30" / "members" / "fold_0"))
    acc.Reload()
    assert "val/acc_HMXB" in acc.Tags()["scalars"] and "val/loss" in acc.Tags()["scalars"]
    description = acc.SummaryMetadata("val/acc_HMXB").summary_description
    assert "validation sources are HMXB" in description and "steps of 1/" in description


def test_varying_overrides_and_run_names():
    jobs = [
        {"data": "csc", "model.hidden": "10", "model.depth": "1"},
        {"data": "csc", "model.hidden": "30", "model.depth": "2"},
    ]
    varying = varying_overrides(jobs)
    assert varying == [
        {"model.hidden": "10", "model.depth": "1"},
        {"model.hidden": "30", "model.depth": "2"},
    ]
    assert run_name(varying[1]) == "hidden=30,depth=2"
    assert (
        run_name({"model.hidden": "3", "encoder.hidden": "4"}) == "model.hidden=3,encoder.hidden=4"
    )
    assert varying_overrides([{"seed": "1"}], always=["seed"]) == [{"seed": "1"}]


def test_where_each_job_logs(tmp_path):
    """A plain run logs into its own tensorboard/; a multirun job into the sweep's, named by what
    varies (a job launched alone, as by the joblib or submitit launchers: by its overrides;
    an Optuna trial: by the searched keys)."""
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from xnet.training.board import assign_boards

    def job(name, overrides, mode="MULTIRUN", params=None):
        run_dir = tmp_path / name
        (run_dir / ".hydra").mkdir(parents=True)
        OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
        OmegaConf.save(
            OmegaConf.create({"hydra": {"mode": mode, "sweeper": {"params": params}}}),
            run_dir / ".hydra" / "hydra.yaml",
        )
        return SimpleNamespace(
            run_dir=run_dir, cfg=OmegaConf.create({"logger": {"name": "tensorboard"}})
        )

    single = job("single", ["model.hidden=5"], mode="RUN")
    assign_boards([single])
    assert single.board == tmp_path / "single" / "tensorboard" and single.varying == {}
    alone = job("sweep/3", ["data=csc_muwclass", "model.hidden=10"])
    assign_boards([alone])
    assert alone.board == tmp_path / "sweep" / "tensorboard" / "data=csc_muwclass,hidden=10"
    trial = job(
        "search/0",
        ["model.hidden=20", "model.dropout=0.1"],
        params={"model.hidden": "choice(10, 20)"},
    )
    assign_boards([trial])
    assert trial.board.name == "hidden=20" and trial.varying == {"model.hidden": "20"}
