"""TensorBoard laid out for browsing a sweep: one run per job named by its varying overrides,
members nested under `members/`, one hparams session per job with CV mean/std, custom scalars,
per-class counts in descriptions. The assertions read the event files."""

import json
import re
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from xnet.training.board import run_name, varying_overrides


def sweep_in_process(monkeypatch, *args: str) -> None:
    """`python -m xnet.train -m args...` in this process (Hydra's multirun, stacked launcher)."""
    from xnet.train import _hydra_main

    monkeypatch.setattr(sys, "argv", ["xnet.train", "-m", *args])
    _hydra_main()


def runs(root: Path) -> dict[str, EventAccumulator]:
    """Every TensorBoard run under `root` (a folder holding event files), loaded whole."""
    out = {}
    for events_file in sorted(root.rglob("events.out.tfevents.*")):
        name = str(events_file.parent.relative_to(root))
        if name not in out:
            acc = EventAccumulator(str(events_file.parent), size_guidance={"scalars": 0})
            acc.Reload()
            out[name] = acc
    return out


def experiment(acc: EventAccumulator):
    content = acc.PluginTagToContent("hparams")["_hparams_/experiment"]
    return plugin_data_pb2.HParamsPluginData.FromString(content).experiment


def session_hparams(acc: EventAccumulator) -> dict:
    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def layout(acc: EventAccumulator) -> list[tuple[str, str, list[str]]]:
    """(category, chart title, tag regexes) of a run's custom-scalars layout."""
    from tensorboard.plugins.custom_scalar import layout_pb2

    proto = layout_pb2.Layout.FromString(
        acc.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0]
    )
    return [
        (cat.title, chart.title, list(chart.multiline.tag))
        for cat in proto.category
        for chart in cat.chart
    ]


def test_sweep_board_layout_reads_at_a_glance(tmp_path, monkeypatch):
    """Issue 23, what the screenshots of a 2-job sweep show, read from the event files: one run
    per job with its networks nested; the job's curves (the mean over its networks) under
    capitalised tags that TensorBoard sorts before every image; per-class charts with one curve
    per job; the data figures once per sweep; no one-value scalar but the hparams metrics; HPARAMS
    with only the varying key (whole numbers as text) and the ranking metric first."""
    sweep = tmp_path / "sweep"
    sweep_in_process(
        monkeypatch,
        "cv.folds=2",
        "model.hidden=10,30",
        "trainer.max_epochs=4",
        f"hydra.sweep.dir={sweep}",
    )
    board = runs(sweep / "tensorboard")
    jobs = ["hidden=10", "hidden=30"]
    assert sorted(board) == sorted(
        [*jobs, *(f"{job}/members/fold_{k}" for job in jobs for k in (0, 1))]
    )
    classes = json.loads((sweep / "0" / "metrics.json").read_text())["classes"]
    fit = {"Fit/" + t for t in ("loss_train", "loss_val", "accuracy_train", "accuracy_val")}
    fit |= {"Fit/balanced_accuracy_train", "Fit/balanced_accuracy_val", "Fit/macro_f1_val"}
    recall = {f"Recall/{c}" for c in classes}
    hp = {"hp/" + m for m in ("balanced_accuracy", "accuracy", "macro_f1")}
    hp |= {f"{tag}_std" for tag in hp}
    shown = [job for job in jobs if "figures/class_shares" in board[job].Tags()["images"]]
    assert len(shown) == 1  # the data figures once per sweep
    for job in jobs:
        acc = board[job]
        scalars, images = set(acc.Tags()["scalars"]), acc.Tags()["images"]
        assert scalars == fit | recall | hp
        curves = sorted(fit | recall)
        assert max(curves) < min(images)  # upper case sorts first: curves open the page
        assert (
            "calibration/reliability_fold_1" in images
            and "results/text_summary" in acc.Tags()["tensors"]
        )
        members = [board[f"{job}/members/fold_{k}"] for k in (0, 1)]
        first = [m.Scalars("val/loss")[0] for m in members]
        assert acc.Scalars("Fit/loss_val")[0].value == pytest.approx(
            sum(e.value for e in first) / 2, rel=1e-6
        )
        for member in members:
            assert not any(t.startswith(("test/", "hp/")) for t in member.Tags()["scalars"])
        exp = experiment(acc)
        assert [(h.name, h.differs) for h in exp.hparam_infos] == [("model.hidden", True)]
        assert session_hparams(acc) == {"model.hidden": job.split("=")[1]}  # "10", not 10.000
        assert [m.name.tag for m in exp.metric_infos][:2] == [
            "hp/balanced_accuracy",
            "hp/balanced_accuracy_std",
        ]
        assert exp.metric_infos[0].display_name == "balanced accuracy (CV mean)"
        charts = layout(acc)
        assert layout(board[jobs[0]]) == charts  # the same in every job: TensorBoard merges them
        for _, title, regexes in charts:
            matched = [
                (name, tag)
                for name, run in board.items()
                for tag in run.Tags()["scalars"]
                for regex in regexes
                if re.search(regex, tag)
            ]
            assert sorted(name for name, _ in matched) == jobs, title  # one curve per job
    per_class = [title for category, title, _ in charts if category.startswith("validation recall")]
    assert [t.split(" ")[0] for t in per_class] == classes
    assert per_class[classes.index("CV")] == "CV (19 labelled sources)"  # data, not a seed's split
    description = board[jobs[0]].SummaryMetadata("Recall/CV").summary_description
    assert "validation CV sources" in description
    member = board["hidden=30/members/fold_0"]
    assert "steps of 1/" in member.SummaryMetadata("val/acc_CV").summary_description


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
