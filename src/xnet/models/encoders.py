"""Encoders of extra named per-source inputs (the light-curve seam).

The network's inputs are named: `features` (the catalog vector) and, for each entry of
`model.encoders` in the config, one more per-row array that the labelled set carries under the
same name (`data.inputs`). An encoder turns its input into an embedding that is concatenated with
the catalog features before the first hidden layer. Encoders are stacked like the MLP: the first
axis is the member (one network of a stack); a checkpoint holds a one-member encoder.

A new encoder is a subclass of `Encoder` in any importable module, named by `_target_` in the
config; trainer, datamodule and predict need no change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from xnet.errors import XnetError


class Encoder(nn.Module):
    """(members, rows, *shape) -> (members, rows, out_features). Every parameter has the member
    axis first, so that the stacked trainer can snapshot each member's best weights and a
    checkpoint can hold member k alone (a one-member encoder: `member_state`)."""

    out_features: int

    def member_state(self, state: Mapping[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
        return {name: value[k : k + 1].clone() for name, value in state.items()}


class SequenceCNN(Encoder):
    """A small 1-D CNN over a binned sequence (a light curve): one convolution, ReLU, mean over
    time. The members are the groups of one grouped convolution, so a stack costs one kernel."""

    def __init__(
        self, n_members: int = 1, channels: int = 8, kernel_size: int = 5, in_channels: int = 1
    ):
        super().__init__()
        self.n_members, self.in_channels, self.out_features = (
            int(n_members),
            int(in_channels),
            int(channels),
        )
        bound = 1 / math.sqrt(self.in_channels * int(kernel_size))  # nn.Conv1d's initialisation
        shape = (self.n_members, self.out_features, self.in_channels, int(kernel_size))
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.bias = nn.Parameter(
            torch.empty(self.n_members, self.out_features).uniform_(-bound, bound)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:  # (members, rows, length): one channel
            x = x.unsqueeze(2)
        members, rows, channels, length = x.shape
        h = x.transpose(0, 1).reshape(rows, members * channels, length)
        weight = self.weight.reshape(members * self.out_features, channels, -1)
        h = F.conv1d(
            h, weight, self.bias.reshape(-1), padding=weight.shape[-1] // 2, groups=members
        )
        h = torch.relu(h).mean(-1)  # (rows, members * out)
        return h.view(rows, members, self.out_features).transpose(0, 1)


class LightCurveCNN(Encoder):
    """A 1-D CNN over a binned light curve with a mask (`xnet.data.lightcurves.binning`: channel 0
    the normalised rate, the last channel the mask), pooled over the masked-in bins only.

    `layers` convolutions of `channels` filters (`kernel_size`, odd, zero padding) with ReLU, a
    max-pool of `pool` between them (the mask pooled alike: a pooled bin is in if any of its bins
    is); then the mean and the maximum of each filter over the bins still in. A source without a
    light curve (an empty mask) gets a learned "no light curve" embedding instead, and one more
    output says which it was: (members, rows, 2 * channels + 1). Members are the groups of grouped
    convolutions, as in `SequenceCNN`.
    """

    def __init__(
        self,
        n_members: int = 1,
        channels: int = 16,
        kernel_size: int = 5,
        layers: int = 2,
        pool: int = 4,
        in_channels: int = 2,
    ):
        super().__init__()
        if int(kernel_size) % 2 == 0 or int(layers) < 1 or int(pool) < 1:
            raise XnetError(
                f"LightCurveCNN: kernel_size must be odd ({kernel_size}), layers >= 1 ({layers}) "
                f"and pool >= 1 ({pool})"
            )
        self.n_members, self.channels = int(n_members), int(channels)
        self.pool, self.in_channels = int(pool), int(in_channels)
        self.out_features = 2 * self.channels + 1
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        width = self.in_channels
        for _ in range(int(layers)):
            bound = 1 / math.sqrt(width * int(kernel_size))  # nn.Conv1d's initialisation
            shape = (self.n_members, self.channels, width, int(kernel_size))
            self.weights.append(nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))
            self.biases.append(
                nn.Parameter(torch.empty(self.n_members, self.channels).uniform_(-bound, bound))
            )
            width = self.channels
        self.missing = nn.Parameter(torch.zeros(self.n_members, 2 * self.channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members, rows, channels, length = x.shape
        h = x.transpose(0, 1).reshape(rows, members * channels, length)
        mask = x[:, :, -1].transpose(0, 1)  # (rows, members, length)
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            if k:
                h = F.max_pool1d(h, self.pool)
                mask = F.max_pool1d(mask, self.pool)
            w = weight.reshape(members * self.channels, -1, weight.shape[-1])
            h = torch.relu(
                F.conv1d(h, w, bias.reshape(-1), padding=w.shape[-1] // 2, groups=members)
            )
        h = h.view(rows, members, self.channels, -1)
        m = mask.unsqueeze(2)  # (rows, members, 1, length)
        count = m.sum(-1)
        mean = (h * m).sum(-1) / count.clamp_min(1)
        peak = h.masked_fill(m == 0, 0.0).amax(-1)  # ReLU outputs are >= 0: 0 is their floor
        has = (count > 0).to(h.dtype)  # (rows, members, 1)
        pooled = has * torch.cat([mean, peak], -1) + (1 - has) * self.missing.unsqueeze(0)
        return torch.cat([pooled, has], -1).transpose(0, 1)


def build_encoders(specs: Mapping | None, n_members: int = 1) -> nn.ModuleDict:
    """`{name: {_target_: class path, **arguments}}` -> encoders of `n_members` members. Only
    `Encoder` subclasses are built (a checkpoint names its encoders; it must not name any
    callable)."""
    from hydra.utils import get_class

    encoders = nn.ModuleDict()
    for name, spec in dict(specs or {}).items():
        spec = dict(spec)
        target = str(spec.pop("_target_", ""))
        try:
            cls = get_class(target)
        except Exception as err:
            raise XnetError(
                f"model.encoders.{name}: cannot import {target!r} ({str(err).splitlines()[0]})"
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, Encoder)):
            raise XnetError(
                f"model.encoders.{name}: {target!r} is not an xnet.models.encoders.Encoder"
            )
        encoders[str(name)] = cls(n_members=n_members, **spec)
    return encoders
