"""Stacked training: members behave as separate fits; sweeps stack their jobs."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST, compose_config, run_cli

from xnet.data.splits import Split
from xnet.models.nets import MLP, StackedMLP
from xnet.training.datamodule import XrayDataModule
from xnet.training.evaluation import evaluate_member
from xnet.training.run import train
from xnet.training.stacking import Job, Member, fit_stack, plan_stacks, prepare_job


def fit_members(members):
    module = fit_stack(members)
    return [evaluate_member(module, k, member) for k, member in enumerate(members)]


def test_stacked_members_compute_what_separate_mlps_compute():
    stack = StackedMLP(7, 3, [4, 10, 6], depth=2, seeds=[1, 2, 3])
    x = torch.rand(5, 7)
    out = stack(x.expand(3, 5, 7))
    for k, (hidden, seed) in enumerate(zip([4, 10, 6], [1, 2, 3])):
        torch.manual_seed(seed)
        alone = MLP(7, 3, hidden, 2)
        torch.testing.assert_close(alone(x), out[k])
        rebuilt = MLP(7, 3, hidden, 2)
        rebuilt.load_state_dict(stack.member_state_dict(k))
        torch.testing.assert_close(rebuilt(x), out[k])


def fit_config(*overrides):
    return compose_config(
        [
            "data=csc_muwclass",
            "logger=none",
            "figures.enabled=false",
            "trainer.max_epochs=4",
            *overrides,
        ]
    )


def test_padded_units_of_a_narrow_member_stay_exactly_zero(tmp_path):
    cfg_narrow, cfg_wide = fit_config("model.hidden=6"), fit_config("model.hidden=8")
    job_n, job_w = prepare_job(cfg_narrow, tmp_path / "n"), prepare_job(cfg_wide, tmp_path / "w")
    dm = XrayDataModule(job_n.data, job_n.splits[0], cfg_narrow.resample)
    members = [
        Member(job=job_n, split=job_n.splits[0], dm=dm),
        Member(job=job_w, split=job_w.splits[0], dm=dm),
    ]
    module = fit_stack(members)
    w0, w1 = list(module.net.parameters())[:2]
    assert torch.count_nonzero(w0[0, :, 6:]) == 0 and torch.count_nonzero(w1[0, 6:, :]) == 0
    assert torch.count_nonzero(w0[1, :, 6:]) > 0  # the wide member does use its units


def checkpoint_weights(run_dir, tag):
    return torch.load(run_dir / "checkpoints" / f"{tag}-best.ckpt", weights_only=True)["state_dict"]


def test_stacked_cv_matches_sequential_training(tmp_path):
    stacked = train(fit_config("cv.folds=3"), tmp_path / "stacked")
    sequential = train(fit_config("cv.folds=3", "batching.enabled=false"), tmp_path / "sequential")
    for a, b in zip(stacked["folds"], sequential["folds"]):
        assert a["epochs"] == b["epochs"] and a["best_epoch"] == b["best_epoch"]
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.01)
        # batched and single matrix products round differently, and Adam's tiny eps turns rounding
        # noise in near-zero gradients into lr-sized steps: close, not bit-identical
        wa, wb = (
            checkpoint_weights(tmp_path / "stacked", f"fold_{a['fold']}"),
            checkpoint_weights(tmp_path / "sequential", f"fold_{b['fold']}"),
        )
        for name in wa:
            torch.testing.assert_close(wa[name], wb[name], atol=5e-3, rtol=0)


def test_a_stack_trains_bit_identically_on_one_thread_or_two(tmp_path):
    """`model.num_threads=auto` follows the machine's load (`stack_threads`, re-read during the
    fit),
    which is only honest if the thread count cannot change a result: same weights, same epochs."""
    settings = [
        *FAST,
        "trainer.max_epochs=30",
        "early_stopping.patience=3",
        "cv.folds=3",
        "model.hidden=50",
    ]
    runs = {
        t: train(compose_config([*settings, f"model.num_threads={t}"]), tmp_path / f"t{t}")
        for t in (1, 2)
    }
    epochs = [f["epochs"] for f in runs[1]["folds"]]
    assert (
        epochs == [f["epochs"] for f in runs[2]["folds"]] and len(set(epochs)) > 1
    )  # members retired apart
    for fold in range(3):
        one, two = (
            checkpoint_weights(tmp_path / "t1", f"fold_{fold}"),
            checkpoint_weights(tmp_path / "t2", f"fold_{fold}"),
        )
        assert all(torch.equal(one[name], two[name]) for name in one)


def test_members_with_different_batch_counts_train_apart_and_as_alone(tmp_path):
    """Training parts of 400 and 200 rows take 2 and 1 batches per epoch: they go to separate
    stacks (one Adam step count per stack), and each gives what it gives alone."""
    cfg = fit_config("model.batch_size=200")
    job = prepare_job(cfg, tmp_path)
    rows = np.random.default_rng(0).permutation(len(job.data.y))
    long_split = Split(
        fold=0,
        train=np.sort(rows[:400]),
        val=np.sort(rows[1000:1300]),
        test=np.sort(rows[1300:1500]),
    )
    short_split = Split(
        fold=1,
        train=np.sort(rows[400:600]),
        val=np.sort(rows[1000:1300]),
        test=np.sort(rows[1300:1500]),
    )
    job = Job(cfg=cfg, run_dir=tmp_path / "pair", data=job.data, splits=[long_split, short_split])
    alone_job = Job(
        cfg=cfg, run_dir=tmp_path / "alone", data=job.data, splits=[short_split, long_split]
    )
    pair_members = [
        Member(job=job, split=s, dm=XrayDataModule(job.data, s, cfg.resample)) for s in job.splits
    ]
    stacks = plan_stacks(pair_members)
    assert [len(s) for s in stacks] == [1, 1]
    pair = [r for stack in stacks for r in fit_members(stack)]
    alone = fit_members(
        [
            Member(
                job=alone_job,
                split=short_split,
                dm=XrayDataModule(job.data, short_split, cfg.resample),
            )
        ]
    )
    assert pair[1].best_epoch == alone[0].best_epoch
    wa, wb = (
        checkpoint_weights(tmp_path / "pair", "fold_1"),
        checkpoint_weights(tmp_path / "alone", "fold_1"),
    )
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], atol=5e-3, rtol=0)


@pytest.mark.cli
def test_stacked_sweep_launcher_matches_the_basic_launcher_and_writes_the_summary(tmp_path):
    args = ["-m", "data=csc_muwclass", "cv.folds=2", "model.hidden=6,8", *FAST]
    stacked = run_cli("xnet.train", *args, f"hydra.sweep.dir={tmp_path / 'stacked'}")
    basic = run_cli(
        "xnet.train", *args, "hydra/launcher=basic", f"hydra.sweep.dir={tmp_path / 'basic'}"
    )
    assert stacked.returncode == 0 and basic.returncode == 0, stacked.stderr + basic.stderr
    assert "stacked" in stacked.stderr + stacked.stdout
    for job in ("0", "1"):
        a = json.loads((tmp_path / "stacked" / job / "metrics.json").read_text())
        b = json.loads((tmp_path / "basic" / job / "metrics.json").read_text())
        assert a["mean"]["balanced_accuracy"] == pytest.approx(
            b["mean"]["balanced_accuracy"], abs=0.02
        )
        assert [f["epochs"] for f in a["folds"]] == [f["epochs"] for f in b["folds"]]
        assert (tmp_path / "stacked" / job / ".hydra" / "config.yaml").exists()
    summary = pd.read_csv(tmp_path / "stacked" / "summary.csv")
    assert len(summary) == 2 and set(
        summary["overrides"].str.extract(r"model.hidden=(\d+)")[0]
    ) == {"6", "8"}
    assert summary["balanced_accuracy"].is_monotonic_decreasing
    assert "Sweep summary" in stacked.stdout


@pytest.mark.cli
def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path):
    """For jobs that cannot stack (different feature sets here): Hydra's joblib launcher, 2
    cores."""
    sweep = tmp_path / "joblib"
    result = run_cli(
        "xnet.train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "data=csc_muwclass",
        "features=xray,xray_mw",
        f"hydra.sweep.dir={sweep}",
        *FAST,
    )
    assert result.returncode == 0, result.stderr
    features = {
        json.loads((sweep / job / "metrics.json").read_text())["features"] for job in ("0", "1")
    }
    assert features == {"xray", "xray_mw"}
    assert "Joblib" in result.stderr + result.stdout


def test_early_stopping_on_balanced_accuracy_and_a_misspelled_monitor(tmp_path):
    from xnet.errors import XnetError

    payload = train(
        fit_config(
            "early_stopping.monitor=val/balanced_accuracy",
            "early_stopping.mode=max",
            "early_stopping.patience=3",
            "trainer.max_epochs=60",
        ),
        tmp_path / "ba",
    )
    assert payload["epochs"] < 60 and payload["best_epoch"] == payload["epochs"] - 1 - 3
    # refused with the other range rules (xnet.config.rules), before any work
    with pytest.raises(XnetError, match="^early_stopping.monitor=val/bal: must be one of val/loss"):
        train(fit_config("early_stopping.monitor=val/bal"), tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
