"""The networks: plain `nn.Module`s, no Lightning.

`MLP` is the study's 30-30 ReLU network; `StackedMLP` is M of them evaluated as one; the
`*InputNet` classes add named inputs (`features` plus any `model.encoders`, see
`xnet.models.encoders`) in front of them.
"""

from __future__ import annotations

import torch
from torch import nn

from xnet.models.encoders import build_encoders

#: the catalog feature vector's input name
FEATURES = "features"


class MLP(nn.Module):
    """`depth` hidden layers of `hidden` ReLU units; returns logits (softmax lives in the loss)."""

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: int = 30,
        depth: int = 2,
        dropout: float = 0.0,
    ):
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
        self.n_stacked = (
            m  # members at construction; `hiddens`, `dropouts` and `k` always count these
        )
        self.live: torch.Tensor | None = None  # their numbers, once some have retired (`retain`)
        with torch.no_grad():
            for k, seed in enumerate(seeds or [0] * m):
                torch.manual_seed(int(seed))
                member = MLP(n_features, n_classes, self.hiddens[k], depth, self.dropouts[k])
                linears = [mod for mod in member.layers if isinstance(mod, nn.Linear)]
                for layer, linear in enumerate(linears):
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
                    h = h * (self._uniform(h) < self.keep) / self.keep
        return h

    def _uniform(self, h: torch.Tensor) -> torch.Tensor:
        """Dropout's uniform draws for h: the whole constructed stack's, of which the live members
        take theirs, so that a member draws the same numbers whether or not others have retired."""
        if self.live is None:
            return torch.rand_like(h)
        return torch.rand((self.n_stacked, *h.shape[1:]), dtype=h.dtype, device=h.device)[self.live]

    def retain(self, positions: torch.Tensor) -> None:
        """Keep only the members at these positions of the current stack in the per-member buffers
        (`xnet.models.compaction` slices the parameters and their optimizer state)."""
        positions = positions.to(self.keep.device)
        live = (
            self.live
            if self.live is not None
            else torch.arange(self.n_stacked, device=self.keep.device)
        )
        self.live, self.keep = live[positions], self.keep[positions]

    def member_state_dict(
        self, k: int, source: list[torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """Member k as the state dict of its own `MLP` (from `source`, a snapshot of
        `list(self.parameters())`, when given; a stack that members have left holds only its live
        ones, so then `source` must be a full-size snapshot)."""
        if source is None and self.live is not None:
            raise ValueError(
                "members have retired from this stack: pass a full-size snapshot as source"
            )
        params = source if source is not None else [p.detach() for p in self.parameters()]
        n_layers = len(self.weights)
        weights, biases = params[:n_layers], params[n_layers:]
        reference = MLP(
            self.n_features, self.n_classes, self.hiddens[k], self.depth, self.dropouts[k]
        )
        state = {}
        names = [
            name for name, mod in reference.layers.named_children() if isinstance(mod, nn.Linear)
        ]
        for layer, name in enumerate(names):
            linear = reference.layers[int(name)]
            out_features, in_features = linear.weight.shape
            state[f"layers.{name}.weight"] = weights[layer][
                k, :in_features, :out_features
            ].T.clone()
            state[f"layers.{name}.bias"] = biases[layer][k, 0, :out_features].clone()
        return state


def _embedded(features: torch.Tensor, encoders: nn.ModuleDict, inputs) -> torch.Tensor:
    """The catalog features with each encoder's embedding of its input appended."""
    missing = [name for name in encoders if name not in inputs]
    if missing:
        raise KeyError(f"the model needs input {', '.join(missing)}, which the data does not carry")
    return torch.cat([features, *(enc(inputs[name]) for name, enc in encoders.items())], dim=-1)


class MultiInputNet(nn.Module):
    """One network with named inputs: encoders (one member each) in front of an `MLP` head."""

    def __init__(
        self, n_features: int, n_classes: int, hidden: int, depth: int, dropout: float, encoders
    ):
        super().__init__()
        self.encoders = build_encoders(encoders, n_members=1)
        width = n_features + sum(e.out_features for e in self.encoders.values())
        self.head = MLP(width, n_classes, hidden, depth, dropout)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        stacked = {name: inputs[name].unsqueeze(0) for name in self.encoders if name in inputs}
        x = _embedded(inputs[FEATURES].unsqueeze(0), self.encoders, stacked)
        return self.head(x[0])


def single_network(
    n_features: int,
    n_classes: int,
    hidden: int = 30,
    depth: int = 2,
    dropout: float = 0.0,
    encoders=None,
) -> nn.Module:
    """The network of one checkpoint: a plain `MLP`, or a `MultiInputNet` with encoders."""
    if encoders:
        return MultiInputNet(n_features, n_classes, hidden, depth, dropout, encoders)
    return MLP(n_features, n_classes, hidden, depth, dropout)


class StackedInputNet(nn.Module):
    """A stack's network: stacked encoders (if any) in front of a `StackedMLP` head.

    `head` holds the head's own settings after `hiddens` (depth, dropouts, seeds), passed to
    `StackedMLP` as they are; the head's input is the features plus every encoder's outputs."""

    def __init__(self, n_features: int, n_classes: int, hiddens: list[int], *head, encoders=None):
        super().__init__()
        self.encoders = build_encoders(encoders, n_members=len(hiddens))
        width = n_features + sum(e.out_features for e in self.encoders.values())
        self.head = StackedMLP(width, n_classes, hiddens, *head)

    @property
    def weight_matrices(self) -> list[torch.Tensor]:
        """The parameters the L2 penalty applies to (the MLP's weight matrices, as scikit-learn)."""
        return list(self.head.weights)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        if not len(self.encoders):
            return self.head(inputs[FEATURES])
        return self.head(_embedded(inputs[FEATURES], self.encoders, inputs))

    def member_state_dict(
        self, k: int, source: dict[str, torch.Tensor] | None = None
    ) -> dict[str, torch.Tensor]:
        """Member k as the state dict of its `single_network` (from `source`, a snapshot of
        `named_parameters()`, when given)."""
        source = (
            source if source is not None else {n: p.detach() for n, p in self.named_parameters()}
        )
        head = [source[f"head.{n}"] for n, _ in self.head.named_parameters()]
        state = self.head.member_state_dict(k, head)
        if not len(self.encoders):
            return state
        out = {f"head.{key}": value for key, value in state.items()}
        for name, encoder in self.encoders.items():
            prefix = f"encoders.{name}."
            own = {
                key[len(prefix) :]: value for key, value in source.items() if key.startswith(prefix)
            }
            out.update({prefix + key: value for key, value in encoder.member_state(own, k).items()})
        return out
