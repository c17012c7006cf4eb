"""Retiring stopped members from a training stack, so that they stop costing compute.

A `StackedClassifier` keeps every member's tensors on a leading member axis. When members stop
early, `retire` cuts the live state down to the members still training: the network's parameters
(every parameter of a stacked net has the member axis first, encoders included) with their Adam
moments (`FlatParameters.retain`), the per-member loss weights and training class support, and the
datamodule's tensors and epoch-order generators (`StackedDataModule.retain`). The batches per epoch
do not change.

What the rest of xnet reads per member stays full-size and indexed by the member's number at
construction: best-weight snapshots, best and stop epochs (`MemberEarlyStopping`), member loggers
and buffered log rows, progress. `StackedClassifier.live` maps positions in the live tensors to
those numbers (`widen` puts live values back in full-size rows).

Every per-member quantity of the training step is computed from that member's own slice (batched
matrix products, per-row loss gradients, per-member sums), so the remaining members compute what
they computed next to the retired ones. Adam's update is element-wise and its flat tensor has no
tail that the fused kernel would round apart (`xnet.models.stacked_step`). Dropout draws the whole
stack's numbers and each live member takes its own (`StackedMLP._uniform`). So every member's
result is bit for bit the one of `batching.retire=false` (tests/test_retire.py).
"""

from __future__ import annotations

import torch


def widen(
    live_values: torch.Tensor, live: torch.Tensor, n_members: int, fill: float = float("nan")
) -> torch.Tensor:
    """Per-live-member values (first axis) as a full-size tensor over all members (`fill` for the
    retired ones)."""
    if len(live) == n_members:
        return live_values
    out = live_values.new_full((n_members, *live_values.shape[1:]), fill)
    out[live.to(live_values.device)] = live_values
    return out


def with_passengers(still: torch.Tensor, least: int) -> torch.Tensor:
    """`still` (bool per live member) with stopped members kept in until `least` are left: they
    ride along (their results no longer change). A stack with an encoder keeps two: its grouped
    convolution computes the weight gradient of a single group otherwise (another algorithm,
    other rounding)."""
    still = still.clone()
    short = max(0, least - int(still.sum()))
    still[(~still).nonzero().flatten()[:short]] = True
    return still


@torch.no_grad()
def retire(module, still: torch.Tensor) -> None:
    """Keep only the live members of `module` (a StackedClassifier) for which `still` (bool, one
    per live member) is true: parameters and Adam state, loss weights, train support, data."""
    positions = still.cpu().nonzero().flatten()
    on_device = positions.to(module.device)
    module.flat.retain(on_device)
    module.net.head.retain(on_device)
    module.loss_weights = module.loss_weights.index_select(0, on_device)
    module.train_support = module.train_support.index_select(0, on_device)
    module.trainer.datamodule.retain(positions)
    module.live = module.live[positions]
