"""The network: a plain multilayer perceptron (the study's 30-30 ReLU MLP by default)."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """`depth` hidden layers of `hidden` ReLU units; returns logits (softmax lives in the loss).

    A later light-curve branch would be a second nn.Module whose embedding is concatenated with
    the catalog features before the first Linear layer.
    """

    def __init__(self, n_features: int, n_classes: int, hidden: int = 30, depth: int = 2, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class StackedMLP(nn.Module):
    """M independent MLPs in one module: weights stacked on a leading member axis, evaluated with
    batched matrix products, so one optimizer step advances every member.

    Members may differ in width: each layer is as wide as the widest member and a narrower member's
    extra units have zero weights and biases. ReLU(0) has zero gradient, so those weights get zero
    gradients, zero Adam moments and zero weight decay: they stay exactly zero, and the member
    computes exactly what its own `MLP(hidden=h)` would. Member m is initialised as
    `torch.manual_seed(seeds[m]); MLP(...)`, i.e. like a separate fit with that seed.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hiddens: list[int],
        depth: int = 2,
        dropouts: list[float] | None = None,
        seeds: list[int] | None = None,
    ):
        super().__init__()
        m = len(hiddens)
        self.n_features, self.n_classes, self.depth = n_features, n_classes, depth
        self.hiddens = [int(h) for h in hiddens]
        self.dropouts = [float(d) for d in (dropouts or [0.0] * m)]
        width = max(self.hiddens)
        shapes = [(n_features, width)] + [(width, width)] * (depth - 1) + [(width, n_classes)]
        self.weights = nn.ParameterList([nn.Parameter(torch.zeros(m, i, o)) for i, o in shapes])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(m, 1, o)) for _, o in shapes])
        keep = torch.tensor([1.0 - d for d in self.dropouts]).view(m, 1, 1)
        self.register_buffer("keep", keep, persistent=False)
        with torch.no_grad():
            for k, seed in enumerate(seeds or [0] * m):
                torch.manual_seed(int(seed))
                member = MLP(n_features, n_classes, self.hiddens[k], depth, self.dropouts[k])
                for layer, linear in enumerate(l for l in member.layers if isinstance(l, nn.Linear)):
                    out_features, in_features = linear.weight.shape
                    self.weights[layer][k, :in_features, :out_features] = linear.weight.T
                    self.biases[layer][k, 0, :out_features] = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (members, rows, features) -> logits (members, rows, classes)."""
        h = x
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if layer < last:
                h = torch.relu(h)
                if self.training and any(self.dropouts):
                    h = h * (torch.rand_like(h) < self.keep) / self.keep
        return h

    def member_state_dict(self, k: int, source: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Member k as the state dict of its own `MLP` (from `source`, a snapshot of
        `list(self.parameters())`, when given)."""
        params = source if source is not None else [p.detach() for p in self.parameters()]
        n_layers = len(self.weights)
        weights, biases = params[:n_layers], params[n_layers:]
        reference = MLP(self.n_features, self.n_classes, self.hiddens[k], self.depth, self.dropouts[k])
        state = {}
        names = [name for name, mod in reference.layers.named_children() if isinstance(mod, nn.Linear)]
        for layer, name in enumerate(names):
            linear = reference.layers[int(name)]
            out_features, in_features = linear.weight.shape
            state[f"layers.{name}.weight"] = weights[layer][k, :in_features, :out_features].T.clone()
            state[f"layers.{name}.bias"] = biases[layer][k, 0, :out_features].clone()
        return state
