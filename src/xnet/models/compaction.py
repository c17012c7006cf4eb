"""Retiring stopped members from a training stack, so that they stop costing compute.

A `StackedClassifier` keeps every member's tensors on a leading member axis. When members stop
early, `retire` cuts the live state down to the members still training: the network's parameters
(every parameter of a stacked net has the member axis first, encoders included) with their Adam
moments, the per-member loss weights and training class support, and the datamodule's tensors and
epoch-order generators (`StackedDataModule.retain`). The batches per epoch do not change.

What the rest of xnet reads per member stays full-size and indexed by the member's number at
construction: best-weight snapshots, best and stop epochs (`MemberEarlyStopping`), member loggers
and buffered log rows, progress. `StackedClassifier.live` maps positions in the live tensors to
those numbers (`widen` puts live values back in full-size rows).

Every per-member quantity of the training step is computed from that member's own slice (batched
matrix products, per-row cross-entropy, per-member sums), so the remaining members compute what
they computed next to the retired ones. Adam's update is element-wise too, but the fused CPU kernel
rounds a tensor's last few elements differently from the rest: an `AdamSlot` per parameter keeps
each element on the code path it had in the whole stack. Dropout draws the whole stack's numbers
and each live member takes its own (`StackedMLP._uniform`). So every member's result is bit for
bit the one of `batching.retire=false` (tests/test_retire.py). Retiring copies the live state
once, in an epoch where some member newly stops; each later step copies the gradients into the
slots (a few small copies against the retired members' matrix products it saves).
"""

from __future__ import annotations

import torch

#: Adam's per-element state (`step` is one count per parameter tensor, shared by every member)
MOMENTS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


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


def chunk(p: torch.Tensor) -> int:
    """Fused Adam's CPU kernel (torch's aten/src/ATen/native/cpu/FusedAdamKernel.cpp) splits a
    tensor into 64-byte units over its threads and updates it in SIMD vectors, except its last
    numel % (vector width) elements, which a loop of its own updates with a different rounding
    (and for a length-dependent part of them differently again). The vector width divides 64
    bytes, so: every element outside the last numel % chunk is updated alike wherever it lies."""
    return 64 // p.element_size()


class AdamSlot:
    """Adam's view of one compacted parameter p (its live members, flat, n elements): `body`, its
    first n - t elements behind `pad` zeros, a multiple of the chunk, so all updated in vectors;
    `tail`, a copy of the whole stack's last numel % chunk elements (the live members' t of them at
    `index`, zeros for the retired), so that the kernel's end loop runs as it did for the whole
    stack. The zeros stay zero: zero gradient, zero moments."""

    def __init__(self, p: torch.Tensor, data: torch.Tensor, live: list[int], n_members: int):
        size, unit = data[0].numel(), chunk(data)
        n, total = data.numel(), n_members * size
        first = total - total % unit  # where the whole stack's end loop starts
        index = [k * size + i - first for k in live for i in range(max(0, first - k * size), size)]
        self.t = len(index)
        self.pad = (self.t - n) % unit
        storage = data.new_zeros(self.pad + n)
        storage[self.pad :] = data.reshape(-1)
        p.data, p.grad = storage[self.pad :].view(data.shape), None
        self.p, self.body_end = p, self.pad + n - self.t
        self.body = storage[: self.body_end] if self.body_end else None
        self.tail = data.new_zeros(total - first) if self.t else None
        self.index = torch.tensor(index, dtype=torch.long, device=data.device)
        if self.tail is not None:
            self.tail[self.index] = data.reshape(-1)[n - self.t :]
        for buffer in self.buffers:
            buffer.grad = torch.zeros_like(buffer)

    @property
    def buffers(self) -> list[torch.Tensor]:
        return [b for b in (self.body, self.tail) if b is not None]

    def pack(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """A flat per-element tensor of p (n elements) laid out as `buffers`."""
        out = []
        if self.body is not None:
            body = flat.new_zeros(self.body_end)
            body[self.pad :] = flat[: self.body_end - self.pad]
            out.append(body)
        if self.tail is not None:
            tail = flat.new_zeros(self.tail.shape)
            tail[self.index] = flat[flat.numel() - self.t :]
            out.append(tail)
        return out

    def unpack(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """The inverse of `pack`."""
        pieces = []
        if self.body is not None:
            pieces.append(parts.pop(0)[self.pad :])
        if self.tail is not None:
            pieces.append(parts.pop(0)[self.index])
        return torch.cat(pieces)

    def load_grad(self) -> None:
        grad = self.p.grad.reshape(-1)
        if self.body is not None:
            self.body.grad[self.pad :].copy_(grad[: self.body_end - self.pad])
        if self.tail is not None:
            self.tail.grad[self.index] = grad[grad.numel() - self.t :]

    def store(self) -> None:
        """After Adam's step: the tail's live elements back into p (the body is p's own storage)."""
        if self.tail is not None:
            self.p.data.view(-1)[self.p.numel() - self.t :] = self.tail[self.index]


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
def compact(
    p: torch.Tensor,
    slot: AdamSlot | None,
    optimizer,
    positions: torch.Tensor,
    live: list[int],
    n_members: int,
) -> AdamSlot:
    """Keep the members at `positions` (of the current stack) of parameter p, and of its Adam state
    (under `slot` after an earlier retirement, else under p); `live`: their numbers in the whole
    stack. The caller puts the new slot's buffers in the optimizer's parameter group."""
    owned = slot.buffers if slot is not None else [p]
    state = [optimizer.state.pop(b, {}) for b in owned]
    moments = {
        key: slot.unpack([s[key] for s in state]) if slot else state[0][key].reshape(-1)
        for key in MOMENTS
        if key in state[0]
    }
    data = p.data.index_select(0, positions)
    new = AdamSlot(p, data, live, n_members)
    packed = {
        key: new.pack(m.view(-1, data[0].numel()).index_select(0, positions).reshape(-1))
        for key, m in moments.items()
    }
    for i, buffer in enumerate(new.buffers):
        optimizer.state[buffer] = {
            "step": state[0]["step"].clone(),
            **{key: packed[key][i] for key in packed},
        }
    return new


@torch.no_grad()
def retire(module, still: torch.Tensor) -> None:
    """Keep only the live members of `module` (a StackedClassifier) for which `still` (bool, one per
    live member) is true: parameters, Adam state, loss weights, train support and the datamodule.
    Adam then updates each parameter through an `AdamSlot`, which keeps every member's result bit
    for bit what it was in the whole stack."""
    positions = still.cpu().nonzero().flatten()
    live = module.live[positions]
    on_device = positions.to(module.device)
    optimizer = module.optimizers().optimizer
    params = list(module.net.parameters())
    old = module.adam_slots or [None] * len(params)
    module.adam_slots = [
        compact(p, slot, optimizer, on_device, live.tolist(), module.n_members)
        for p, slot in zip(params, old)
    ]
    optimizer.param_groups[0]["params"] = [b for slot in module.adam_slots for b in slot.buffers]
    module.net.head.retain(on_device)
    module.loss_weights = module.loss_weights.index_select(0, on_device)
    module.train_support = module.train_support.index_select(0, on_device)
    module.trainer.datamodule.retain(positions)
    module.live = live
