"""The networks' part of an explanation: Captum's DeepLift (rescale rule) on ReLU MLPs.

A run's networks are evaluated side by side as one module (weights stacked on a member axis, each
network on its own scaled copy of the row). Its output is a linear read-out of their logits,
sum over networks m and classes k of read_out[m, k] * z_mk, with the read-out given per row: the
head's mean gradient (`xnet.evaluation.attribution`). DeepLift's rescale rule gives contributions
that add up exactly to the change of that read-out between the row and the baseline (its
summation-to-delta property, exact for ReLU networks; one forward and one backward pass for a
batch of rows and their baselines). Rows go to Captum in groups (`GROUP`): a group's output is
the sum of its rows' read-outs, and a row's attributions depend on its own values only.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from captum.attr import DeepLift
from torch import nn

#: rows per DeepLift example: the rows of a group are independent, so each row's attributions are
#: its own, and Captum takes one gradient per group (it splits the output into one scalar per
#: example, a Python-level step that would otherwise cost more than the network itself)
GROUP = 512


class StackedLogits(nn.Module):
    """M ReLU MLPs (weight in x out, bias per layer; narrower ones padded with zeros, which keeps
    their outputs) applied to inputs of shape (rows, M, features)."""

    def __init__(self, layers: list[list[tuple[np.ndarray, np.ndarray]]]):
        super().__init__()
        depth = len(layers[0])
        if any(len(net) != depth for net in layers):
            raise ValueError("networks of one run have the same depth")
        for k in range(depth):
            rows = max(net[k][0].shape[0] for net in layers)
            cols = max(net[k][0].shape[1] for net in layers)
            weight = np.zeros((len(layers), rows, cols), np.float32)
            bias = np.zeros((len(layers), 1, cols), np.float32)
            for m, net in enumerate(layers):
                w, b = net[k]
                weight[m, : w.shape[0], : w.shape[1]] = w
                bias[m, 0, : b.shape[0]] = b
            self.register_buffer(f"weight{k}", torch.from_numpy(weight))
            self.register_buffer(f"bias{k}", torch.from_numpy(bias))
        self.depth = depth
        # one module per hidden layer: DeepLift keeps each nonlinearity's reference activations
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(depth - 1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(..., M, classes) logits of inputs (..., M, features); the leading axes stay first in
        every activation, as DeepLift's hooks (row halves, then baseline halves) expect."""
        h = x
        for k in range(self.depth):
            weight, bias = getattr(self, f"weight{k}"), getattr(self, f"bias{k}")
            if len(weight) == 1:  # one network: a plain matrix product
                h = torch.addmm(bias[0], h.reshape(-1, h.shape[-1]), weight[0])
            else:  # networks first for a batched product, then back
                rows = h.reshape(-1, *h.shape[-2:]).transpose(0, 1)
                h = torch.baddbmm(bias, rows, weight).transpose(0, 1)
            h = h.reshape(*x.shape[:-1], weight.shape[2])
            if k < self.depth - 1:
                h = self.relus[k](h)
        return h

    def forward(self, x: torch.Tensor, read_out: torch.Tensor) -> torch.Tensor:
        """Per group of rows (groups, rows, M, features), the sum over its rows, networks and
        classes of read_out (groups, rows, M, classes) times the logits."""
        return (self.logits(x) * read_out).sum(dim=(1, 2, 3))


class NetworkContributions:
    """Logits and DeepLift contributions of a run's networks."""

    def __init__(self, layers: list[list[tuple[np.ndarray, np.ndarray]]]):
        self.module = StackedLogits(layers).eval()
        self.deeplift = DeepLift(self.module, multiply_by_inputs=True)

    @torch.no_grad()
    def logits(self, scaled: np.ndarray) -> np.ndarray:
        """(M, rows, classes) logits, float64, of scaled inputs (rows, M, features)."""
        return self.module.logits(torch.from_numpy(scaled)).double().numpy().transpose(1, 0, 2)

    def contributions(
        self, scaled: np.ndarray, scaled_baseline: np.ndarray, read_out: np.ndarray
    ) -> np.ndarray:
        """(rows, features) contributions to sum_mk read_out * z_mk, summed over the networks;
        `scaled` (rows, M, features), `scaled_baseline` (M, features), `read_out` (rows, M, K)."""
        n = len(scaled)
        groups = -(-n // GROUP)
        inputs = _grouped(scaled, groups)
        weights = _grouped(read_out, groups)
        baseline = torch.from_numpy(np.asarray(scaled_baseline, np.float32))
        with warnings.catch_warnings():  # DeepLift says, every call, that it sets hooks
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            attributions = self.deeplift.attribute(
                inputs.requires_grad_(),
                baselines=baseline.expand_as(inputs).contiguous(),
                additional_forward_args=(weights,),
            )
        return attributions.detach().sum(dim=2).reshape(groups * GROUP, -1)[:n].double().numpy()


def _grouped(values: np.ndarray, groups: int) -> torch.Tensor:
    """Rows padded with zeros to whole groups, as (groups, GROUP, ...) float32."""
    out = np.zeros((groups * GROUP, *values.shape[1:]), np.float32)
    out[: len(values)] = values
    return torch.from_numpy(out.reshape(groups, GROUP, *values.shape[1:]))
