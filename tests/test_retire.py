"""Members that early-stop leave their stack (issue 8): the rest train on without them, and every
member's result is bit for bit what it was when stopped members kept training with the rest
(`batching.retire=false`, the reference): best and stop epochs, best weights, the logged scalars."""

import copy
import json

import pytest
import torch
from conftest import compose_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from xnet.models.nets import StackedInputNet
from xnet.models.optim import optimizer_settings
from xnet.models.stacked_step import FlatParameters
from xnet.training import stacking
from xnet.training.datamodule import XrayDataModule
from xnet.training.run import train
from xnet.training.stacking import Member, fit_stack, prepare_job

QUICK = [
    "data=xmm_lin2024",
    "logger=none",
    "figures.enabled=false",
    "early_stopping.patience=2",
    "trainer.max_epochs=20",
]


class Recorder:
    """A member logger that keeps what it is given (the TensorBoard logger's `log_metrics`)."""

    def __init__(self):
        self.rows = []

    def log_metrics(self, metrics, step):
        self.rows.append((step, dict(metrics)))


def fit_both(members_for, monkeypatch):
    """The same members fitted with and without retirement; member loggers record every scalar."""
    monkeypatch.setattr(stacking, "member_logger", lambda member: Recorder())
    return {retire: fit_stack(members_for(retire)) for retire in (True, False)}


def assert_identical(fits):
    retired, reference = fits[True], fits[False]
    assert torch.equal(retired.best_epoch, reference.best_epoch)
    assert torch.equal(retired.stop_epoch, reference.stop_epoch)
    for name, value in reference.best_params.items():
        assert torch.equal(retired.best_params[name], value), name
    for k in range(reference.n_members):
        assert retired.member_loggers[k].rows == reference.member_loggers[k].rows, (
            f"member {k}'s scalars"
        )
        for key, value in reference.member_state_dict(k).items():
            assert torch.equal(retired.member_state_dict(k)[key], value)
    # the stack did shrink: members stopped at different epochs, the last ones trained alone
    assert len(set(reference.stop_epoch.tolist())) > 1
    assert len(retired.live) < retired.n_members and len(reference.live) == reference.n_members
    assert next(retired.net.parameters()).shape[0] == len(retired.live)


def test_members_of_different_widths_dropout_and_an_encoder_retire_bit_for_bit(
    tmp_path, monkeypatch
):
    """A sweep-like stack (hidden 20 and 28 on two folds) with dropout, class weights and a
    sequence encoder: every parameter (encoder included) is compacted, and the dropout draws are
    taken for the whole stack with each live member using its own, so they do not change either."""
    lightcurve = [
        "+data.inputs={lightcurve:{_target_:xnet.testing.lightcurves.synthetic_lightcurves,length:16}}",
        "+model.encoders.lightcurve={_target_:xnet.models.encoders.SequenceCNN,channels:3,kernel_size:3}",
    ]

    def members(retire):
        out = []
        for hidden in (20, 28):
            cfg = compose_config(
                [
                    *QUICK,
                    *lightcurve,
                    "cv.folds=2",
                    f"model.hidden={hidden}",
                    "model.dropout=0.1",
                    "model.class_weighted=true",
                    "early_stopping.min_delta=0.01",
                    "trainer.max_epochs=14",
                    f"batching.retire={retire}",
                ]
            )
            job = prepare_job(cfg, tmp_path / f"{retire}-{hidden}")
            out += [
                Member(job=job, split=s, dm=XrayDataModule(job.data, s, cfg.resample))
                for s in job.splits
            ]
        return out

    fits = fit_both(members, monkeypatch)
    assert "encoders.lightcurve.weight" in fits[True].best_params
    assert_identical(fits)


def scalars(run_dir):
    """{(member run, tag): [(step, value), ...]} from the run's TensorBoard event files."""
    out = {}
    for events in sorted(run_dir.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events.parent), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out[(str(events.parent.relative_to(run_dir)), tag)] = [
                (e.step, e.value) for e in acc.Scalars(tag)
            ]
    return out


def test_a_run_writes_the_same_metrics_and_tensorboard_scalars_with_retirement(tmp_path):
    """End to end (`train`, TensorBoard on): metrics.json, checkpoints and every scalar the same."""
    runs = {}
    for retire in (True, False):
        cfg = compose_config(
            [
                *QUICK,
                "logger=tensorboard",
                "trainer.max_epochs=12",
                "cv.folds=3",
                f"batching.retire={retire}",
            ]
        )
        runs[retire] = train(cfg, tmp_path / str(retire))
    for a, b in zip(runs[True]["folds"], runs[False]["folds"]):
        assert {
            k: a[k] for k in ("epochs", "best_epoch", "accuracy", "balanced_accuracy", "macro_f1")
        } == {
            k: b[k] for k in ("epochs", "best_epoch", "accuracy", "balanced_accuracy", "macro_f1")
        }
        wa = torch.load(tmp_path / "True" / a["checkpoint"], weights_only=True)["state_dict"]
        wb = torch.load(tmp_path / "False" / b["checkpoint"], weights_only=True)["state_dict"]
        assert all(torch.equal(wa[key], wb[key]) for key in wb)
    assert len({f["epochs"] for f in runs[False]["folds"]}) > 1  # the folds did stop apart
    board = {retire: scalars(tmp_path / str(retire) / "tensorboard") for retire in (True, False)}
    assert board[True] == board[False] and any(tag == "val/loss" for _, tag in board[True])
    metrics = {
        r: json.loads((tmp_path / str(r) / "metrics.json").read_text()) for r in (True, False)
    }
    assert (
        metrics[True]["mean"] == metrics[False]["mean"]
        and metrics[True]["folds"] == metrics[False]["folds"]
    )


@pytest.mark.parametrize("hiddens", [[3], [21, 30], [8] * 50, [30] * 7, [5, 2] * 6])
def test_flat_adam_of_a_compacted_stack_matches_the_whole_stack_bit_for_bit(hiddens):
    """Fused Adam's CPU kernel rounds a tensor's last numel % (vector width) elements in a loop of
    its own: the flat parameters never have such a tail, so an element's update does not depend
    on where it lies, and a compacted stack updates its members as the whole stack did."""
    settings = optimizer_settings()
    whole_net = StackedInputNet(7, 4, hiddens, 2, None, list(range(len(hiddens))))
    part_net = copy.deepcopy(whole_net)
    whole = FlatParameters(whole_net, list(whole_net.head.weights), settings)
    part = FlatParameters(part_net, list(part_net.head.weights), settings)
    generator = torch.Generator().manual_seed(0)
    live, n = list(range(len(hiddens))), len(hiddens)
    # members retire in a scattered order: the last, a middle one, the first, then more
    retiring = {3: [n - 1], 6: [n // 2], 9: [0], 12: list(range(1, n // 2, 2))}
    for step in range(20):
        for member in retiring.get(step, []):
            if member in live and len(live) > 1:
                positions = torch.tensor([i for i, k in enumerate(live) if k != member])
                live = [k for k in live if k != member]
                part.retain(positions)
        scale = 10.0 ** float(torch.randint(-6, 1, (), generator=generator))
        for g_whole, g_part in zip(whole.views(whole.grad), part.views(part.grad)):
            g_whole.copy_(torch.randn(g_whole.shape, generator=generator) * scale)
            g_part.copy_(g_whole[live])
        whole.step(1e-4 / 200)
        part.step(1e-4 / 200)
        for a, b in zip(whole_net.parameters(), part_net.parameters()):
            assert torch.equal(b.detach(), a.detach()[live]), f"step {step}"
    assert len(live) < n or n == 1
