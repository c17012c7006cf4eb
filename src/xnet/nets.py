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
