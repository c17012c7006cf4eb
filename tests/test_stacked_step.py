"""The written-out training step (`xnet.models.stacked_step`) against autograd's: the gradients of
one batch, and the weights after a few epochs of training on the bundled Chandra set."""

import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import compose_config

from xnet.models.nets import StackedInputNet
from xnet.models.optim import optimizer_settings
from xnet.models.stacked_step import (
    Buffers,
    FlatParameters,
    gradients,
    minus_targets,
    row_weights,
    train_epoch,
)
from xnet.training.datamodule import StackedDataModule, XrayDataModule
from xnet.training.stacking import prepare_job

ENCODER = {"lightcurve": {"_target_": "xnet.models.encoders.SequenceCNN", "channels": 3}}


def reference_loss(net, inputs, y, valid, class_weights=None):
    """The loss as the autograd step computed it: per-row cross-entropy, each member's (weighted)
    mean over its valid rows, summed over members."""
    logits = net(inputs)
    ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")
    w = valid.float() if class_weights is None else torch.gather(class_weights, 1, y) * valid
    return ((ce * w).sum(1) / w.sum(1).clamp_min(1e-12)).sum()


def reference_step(net, optimizer, inputs, y, valid, decay, class_weights=None):
    """One step of the autograd reference: backward, L2 on the weight matrices, fused Adam."""
    net.zero_grad(set_to_none=True)
    reference_loss(net, inputs, y, valid, class_weights).backward()
    with torch.no_grad():
        for w in net.weight_matrices:
            w.grad.add_(w, alpha=decay)
    optimizer.step()


def batch(members=3, rows=40, n_features=6, n_classes=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    inputs = {
        "features": torch.rand(members, rows, n_features, generator=generator),
        "lightcurve": torch.randn(members, rows, 16, generator=generator),
    }
    y = torch.randint(0, n_classes, (members, rows), generator=generator)
    valid = torch.ones(members, rows, dtype=torch.bool)
    valid[1, rows - 7 :] = False  # a member whose last batch is short (padding rows)
    return inputs, y, valid


@pytest.mark.parametrize(
    "hiddens, depth, dropout, weighted, encoders",
    [
        ([4, 7, 5], 2, 0.0, False, None),
        ([6, 6, 3], 3, 0.0, True, None),
        ([5, 8, 8], 2, 0.2, True, ENCODER),
    ],
)
def test_one_batch_has_autograds_gradients(hiddens, depth, dropout, weighted, encoders):
    inputs, y, valid = batch()
    weights = torch.rand(3, 4, generator=torch.Generator().manual_seed(1)) + 0.5
    weights = weights if weighted else None
    net = StackedInputNet(6, 4, hiddens, depth, [dropout] * 3, [1, 2, 3], encoders=encoders)
    mine = copy.deepcopy(net)
    torch.manual_seed(5)  # the dropout draws
    net.zero_grad()
    reference_loss(net, inputs, y, valid, weights).backward()
    FlatParameters(mine, list(mine.head.weights), optimizer_settings())  # the gradient views
    buf = Buffers(mine.head, inputs["features"], 40, 1, False)
    torch.manual_seed(5)
    share = row_weights(valid, y, 40, weights)
    with torch.no_grad():
        gradients(mine, inputs, share, minus_targets(y, share, 4), buf, buf.logits[0])
    for (name, p), q in zip(net.named_parameters(), mine.parameters()):
        assert p.grad.abs().max() > 0, name
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-7, msg=name)
    if not dropout:
        with torch.no_grad():
            torch.testing.assert_close(buf.logits[0].transpose(1, 2), net(inputs))


def chandra_stack(tmp_path, hiddens):
    cfg = compose_config(["data=csc_muwclass", "logger=none", "figures.enabled=false"])
    job = prepare_job(cfg, tmp_path)
    modules = [XrayDataModule(job.data, s, cfg.resample) for s in job.splits]
    data = StackedDataModule(modules * len(hiddens), seeds=list(range(len(hiddens))))
    data.setup("fit")
    return data


def test_a_few_epochs_train_the_weights_autograd_trains(tmp_path):
    """Three epochs of the study's MLP (30-30, batch 200, Adam with its tiny eps) on the bundled
    Chandra training part: the written-out step and autograd's end within float noise."""
    data = chandra_stack(tmp_path, [30, 30, 20])
    settings = optimizer_settings()
    n_features, n_classes = data.train_inputs["features"].shape[2], len(data.members[0].classes)
    net = StackedInputNet(n_features, n_classes, [30, 30, 20], 2, None, [1, 2, 3])
    mine = copy.deepcopy(net)
    flat = FlatParameters(mine, list(mine.head.weights), settings)
    optimizer = torch.optim.Adam(
        net.parameters(),
        lr=settings["lr"],
        betas=(settings["beta1"], settings["beta2"]),
        eps=settings["eps"],
        fused=True,
    )
    width, decay = data.batch_size, settings["l2_alpha"] / data.batch_size
    for _ in range(3):
        order, valid = data.epoch_order()
        members = torch.arange(3)[:, None]
        inputs = {"features": data.train_inputs["features"][members, order]}
        y = data.y_train[members, order]
        train_epoch(mine, flat, inputs, y, row_weights(valid, y, width), width, decay, False)
        for start in range(0, y.shape[1], width):
            span = slice(start, start + width)
            step_inputs = {"features": inputs["features"][:, span]}
            reference_step(net, optimizer, step_inputs, y[:, span], valid[:, span], decay)
    for (name, p), q in zip(net.named_parameters(), mine.parameters()):
        torch.testing.assert_close(q.detach(), p.detach(), rtol=0, atol=1e-4, msg=name)
    val = {"features": data.val_inputs["features"]}
    with torch.no_grad():
        torch.testing.assert_close(mine(val), net(val), rtol=0, atol=1e-3)


def test_numbers_heading_for_zero_are_flushed_not_left_subnormal():
    """The subnormal range (below 1.2e-38) costs x86 a microcode path per multiply: parameters,
    Adam moments and the loss gradient of a ruled-out class below `FLUSH_BELOW` become exact
    zeros at each step, and every other number is what Adam and the softmax make it."""
    from xnet.models.stacked_step import FLUSH_BELOW

    net = StackedInputNet(3, 3, [4, 4], 2, None, [1, 2])
    settings = {**optimizer_settings(), "lr": 0.0}  # Adam leaves the weights; moments decay
    flat = FlatParameters(net, list(net.head.weights), settings)
    values = torch.tensor([1e-39, -1e-36, 1e-31, -2e-30, 5e-30, 1e-3, -0.5])
    flat.state[:, : len(values)] = values
    flat.state[2, : len(values)] = values.abs()  # second moments are squares
    before = flat.state.clone()
    flat.grad.zero_()
    flat.step(decay=0.0)
    beta = torch.tensor([1.0, settings["beta1"], settings["beta2"]])[:, None]
    expected = before * beta
    expected[expected.abs() < FLUSH_BELOW] = 0
    assert torch.equal(flat.state == 0, expected == 0)
    torch.testing.assert_close(flat.state, expected, rtol=1e-6, atol=0)
    assert (flat.state[:, :3] == 0).all() and (flat.state[0, 3:] == before[0, 3:]).all()
    # a network sure of its answer: the other classes' probabilities are e^-100
    inputs = {"features": torch.full((2, 5, 3), 1.0)}
    y = torch.zeros(2, 5, dtype=torch.long)
    with torch.no_grad():
        net.head.weights[-1].zero_()
        net.head.biases[-1].copy_(torch.tensor([100.0, 0.0, 0.0]))
        share = row_weights(torch.ones(2, 5, dtype=torch.bool), y, 5)
        buf = Buffers(net.head, inputs["features"], 5, 1, False)
        gradients(net, inputs, share, minus_targets(y, share, 3), buf, buf.logits[0])
    assert (net.head.biases[-1].grad == 0).all()  # e^-100 / 5 a row is subnormal: flushed
    with torch.no_grad():
        net.head.biases[-1].copy_(torch.tensor([10.0, 0.0, 0.0]))  # e^-10: a real gradient
        gradients(net, inputs, share, minus_targets(y, share, 3), buf, buf.logits[0])
    assert (net.head.biases[-1].grad[:, 0, 1:] > 4e-5).all()
