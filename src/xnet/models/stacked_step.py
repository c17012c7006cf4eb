"""The stacked MLP's training step written out: no autograd graph, few kernels, one Adam call.

A 30-30 MLP's mini-batch step is three batched matrix products and two ReLUs forward, and five
products back; under autograd the graph, the loss's own kernels, `zero_grad`, allocations and the
optimizer's Python cost more than the arithmetic (docs/speed.md has the profiles). Here:

- `FlatParameters`: every parameter of the stacked network is a view into one flat tensor, each a
  contiguous (members, ...) block, the weight matrices first; its gradient a view into another.
  One fused Adam call (`torch.optim.adam.adam`, the functional behind `torch.optim.Adam`) updates
  them all, after one `add_` puts the L2 penalty on the weight matrices (scikit-learn's alpha/2
  ||W||^2 / batch, as before). Parameters and Adam moments are the rows of one (3, length)
  tensor, so that one kernel flushes the numbers heading for zero in all of them (`FLUSH_BELOW`).
  The flat length is a multiple of 16 elements, so fused Adam's CPU kernel updates every element in
  its vector loop (it rounds a tensor's last numel % vector-width elements in a scalar loop of its
  own): an element's arithmetic does not depend on where it lies, and a member that leaves the stack
  (`retain`) changes no other member's result, bit for bit.
- `train_epoch`: forward, softmax cross-entropy gradient and backward per batch as `baddbmm` /
  `bmm` into preallocated buffers and the gradient views. The logits come out classes-first
  (members, classes, rows): softmax over a last dimension of 8 classes takes 10x longer, and
  `log_softmax(...).exp_()` over the class dimension, unlike `softmax`, rounds each element the
  same whatever the thread count or the member's place in the stack. The loss is the mean per-row
  cross-entropy per member (class-weighted where asked), summed over members, as before.

Encoders (`xnet.models.encoders`) in front of the MLP keep autograd for their own part: the step
hands the gradient of their embeddings to `torch.autograd.backward`, which accumulates into their
flat gradient views. `tests/test_stacked_step.py` compares the step with autograd's.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.optim.adam import adam

from xnet.models.nets import FEATURES, StackedInputNet

#: elements the flat length is a multiple of (64 bytes of float32: the widest CPU vector)
ALIGN = 16
#: parameters, Adam moments and loss gradients smaller than this are set to zero at each step.
#: With the study's L2 penalty and Adam's eps of 1e-10 a trained network is full of numbers heading
#: for zero: the weights into units that stopped firing and their Adam moments (the first decays by
#: beta1 = 0.15 a step, the second by 0.99), and the softmax probabilities of the classes a
#: confident network rules out, with the gradients they make. Below 1.2e-38 they are subnormal and
#: every x86 multiply one enters takes a microcode path many times slower: on the 16,000-source
#: 5-fold CV on one thread, flushing only the weights (as before) left 5.3 ms per member-epoch at
#: epoch 20 and 12-14 ms from epoch 120, the same stack on the same rows; flushing all of them,
#: 5.1-7.0 ms (4.9-5.5 on two threads). A number under 1e-30 changes no prediction. (The CPU's
#: own flush-to-zero mode, `torch.set_flush_denormal`, is per thread: torch's OpenMP threads kept
#: subnormals, and the results then depended on the thread count.)
FLUSH_BELOW = 1e-30
#: log-probabilities are raised to this before `exp`: e^-70 = 4e-31, so the gradient share * p of
#: a class this unlikely is flushed either way (share <= 1), bit for bit as without the floor, but
#: `exp` no longer makes subnormals on the way (it was the step's slowest kernel, 38 us of ~300)
LOG_FLOOR = -70.0
#: devices with a fused Adam kernel (elsewhere: the multi-tensor one)
FUSED_ADAM_DEVICES = ("cpu", "cuda")
relu_backward = torch.ops.aten.threshold_backward.grad_input


class FlatParameters:
    """The network's parameters (member axis first) as views into one flat tensor, with their
    gradients and Adam moments alike; `step` is one Adam update of them all."""

    def __init__(self, net: nn.Module, decayed: list[nn.Parameter], settings: Mapping):
        others = [p for p in net.parameters() if all(p is not d for d in decayed)]
        self.params, self.n_decayed = [*decayed, *others], len(decayed)
        self.sizes = [p[0].numel() for p in self.params]
        self.hyper = dict(
            lr=float(settings["lr"]),
            beta1=float(settings["beta1"]),
            beta2=float(settings["beta2"]),
            eps=float(settings["eps"]),
        )
        device = self.params[0].device
        self.fused = device.type in FUSED_ADAM_DEVICES
        self.step_count = torch.zeros((), dtype=torch.float32, device=device)
        moments = [torch.zeros_like(p) for p in self.params]
        self._lay_out([p.detach() for p in self.params], moments, moments)

    def _lay_out(self, values, avg, avg_sq) -> None:
        """Flat tensors for these per-parameter values and moments; parameters and gradients
        become views into them."""
        members = values[0].shape[0]
        used = members * sum(self.sizes)
        total = -(-used // ALIGN) * ALIGN
        ref = values[0]
        self.grad, self.state = ref.new_zeros(total), ref.new_zeros(3, total)
        self.data, self.exp_avg, self.exp_avg_sq = self.state.unbind()
        decayed_end = members * sum(self.sizes[: self.n_decayed])
        self.decayed, self.decayed_grad = self.data[:decayed_end], self.grad[:decayed_end]
        offset = 0
        for p, n, value, m, v in zip(self.params, self.sizes, values, avg, avg_sq):
            end, shape = offset + members * n, (members, *p.shape[1:])
            for flat, source in ((self.data, value), (self.exp_avg, m), (self.exp_avg_sq, v)):
                flat[offset:end].view(shape).copy_(source)
            p.data = self.data[offset:end].view(shape)
            offset = end
        self.attach_grads()

    def attach_grads(self) -> None:
        """Point each parameter's `.grad` at its view of the flat gradient (again after anything,
        such as Lightning's `zero_grad` at the start of a fit, set them to None)."""
        for p, grad in zip(self.params, self.views(self.grad)):
            p.grad = grad

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """`flat` (data, grad or a moment) cut into per-parameter tensors."""
        out, offset = [], 0
        for p, n in zip(self.params, self.sizes):
            members = p.shape[0]
            out.append(flat[offset : offset + members * n].view(p.shape))
            offset += members * n
        return out

    def step(self, decay: float) -> None:
        """grad += decay * W on the weight matrices, one fused Adam update, and parameters and
        moments below `FLUSH_BELOW` in magnitude set to zero."""
        self.decayed_grad.add_(self.decayed, alpha=decay)
        adam(
            [self.data],
            [self.grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],
            [self.step_count],
            fused=self.fused,
            foreach=not self.fused,
            amsgrad=False,
            weight_decay=0.0,
            maximize=False,
            **self.hyper,
        )
        torch.hardshrink(self.state, FLUSH_BELOW, out=self.state)

    @torch.no_grad()
    def retain(self, positions: torch.Tensor) -> None:
        """Keep only the members at these positions (values and Adam moments)."""
        keep = [
            [t.index_select(0, positions) for t in self.views(flat)]
            for flat in (self.data, self.exp_avg, self.exp_avg_sq)
        ]
        self._lay_out(*keep)


@torch.no_grad()
def row_weights(valid: torch.Tensor, y: torch.Tensor, batch: int, class_weights=None):
    """Each row's share of its member's loss in its batch, (members, 1, rows): a batch's weights
    sum to 1 per member, padding rows weigh 0; `class_weights` (members, classes) if weighted."""
    w = valid.float() if class_weights is None else torch.gather(class_weights, 1, y) * valid
    per_batch = w.view(len(w), -1, batch)
    return (per_batch / per_batch.sum(2, keepdim=True).clamp_min(1e-12)).view(len(w), 1, -1)


def minus_targets(y: torch.Tensor, share: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(members, classes, rows): -share at each row's class, 0 elsewhere."""
    out = share.new_zeros(len(y), n_classes, y.shape[1])
    return out.scatter_(1, y.unsqueeze(1), -share)


class Buffers:
    """What an epoch's steps write into instead of allocating: per hidden layer its activations
    and backward product, the dropout masks, and the classes-first logits (all of the epoch's
    batches when train metrics are kept, else one batch's); and the head's parameters and their
    gradients as the plain views the steps use (`nn.ParameterList` indexing and `transpose` cost
    more per step than the last layer's product: views into the flat tensors stay valid for the
    whole epoch, as Adam updates them in place)."""

    def __init__(self, head, x: torch.Tensor, batch: int, steps: int, keep_all: bool):
        members = x.shape[0]
        widths = [w.shape[2] for w in head.weights][:-1]
        self.act = [x.new_empty(members, batch, n) for n in widths]
        self.act_t = [a.transpose(1, 2) for a in self.act]
        self.back = [x.new_empty(members, batch, n) for n in widths]
        self.masks: list = [None] * len(widths)
        self.logits = x.new_empty(steps if keep_all else 1, members, head.n_classes, batch)
        self.w = [w.detach() for w in head.weights]
        self.w_t = [w.transpose(1, 2) for w in self.w]
        self.b = [b.detach() for b in head.biases]
        self.b[-1] = self.b[-1].transpose(1, 2)  # the classes-first last layer's (members, C, 1)
        self.dropout = head.training and any(head.dropouts)
        if all(p.grad is not None for p in [*head.weights, *head.biases]):
            self.w_grad = [w.grad for w in head.weights]
            self.b_grad = [b.grad.view(members, -1) for b in head.biases]

    def epoch_logits(self) -> torch.Tensor:
        """(members, classes, rows) of the whole epoch, rows in the epoch's order."""
        steps, members, classes, batch = self.logits.shape
        return self.logits.permute(1, 2, 0, 3).reshape(members, classes, steps * batch)


def forward(head, x: torch.Tensor, buf: Buffers, out: torch.Tensor) -> None:
    """The head's forward into `buf.act` and `out` (members, classes, rows): what
    `StackedMLP.forward` computes (dropout included), without a graph."""
    h = x
    for layer, a in enumerate(buf.act):
        torch.baddbmm(buf.b[layer], h, buf.w[layer], out=a).relu_()
        if buf.dropout:
            buf.masks[layer] = head._uniform(a) < head.keep
            a.mul_(buf.masks[layer]).div_(head.keep)
        h = a
    torch.baddbmm(buf.b[-1], buf.w_t[-1], buf.act_t[-1], out=out)  # a head has a hidden layer


def backward(head, x: torch.Tensor, buf: Buffers, g: torch.Tensor, need_input: bool):
    """The head's parameter gradients (into their `.grad` views) from `g`, the loss gradient of
    the logits (members, classes, rows); returns the gradient of `x` when `need_input`."""
    layer = len(buf.act)
    d = g.transpose(1, 2)
    torch.sum(g, 2, out=buf.b_grad[layer])
    while True:
        below_t = buf.act_t[layer - 1] if layer else x.transpose(1, 2)
        torch.bmm(below_t, d, out=buf.w_grad[layer])
        if layer == 0:
            return torch.bmm(d, buf.w_t[0]) if need_input else None
        d = torch.bmm(d, buf.w_t[layer], out=buf.back[layer - 1])
        layer -= 1
        relu_backward(d, buf.act[layer], 0, grad_input=d)
        if buf.masks[layer] is not None:
            d.mul_(buf.masks[layer]).div_(head.keep)
        torch.sum(d, 1, out=buf.b_grad[layer])


def _embedded(net: StackedInputNet, inputs: Mapping, graph: bool = True):
    """The head's input, and the encoders' embeddings (with their autograd graph if `graph`)."""
    x = inputs[FEATURES]
    if not len(net.encoders):
        return x, []
    with torch.set_grad_enabled(graph):
        embeddings = [enc(inputs[name]) for name, enc in net.encoders.items()]
    return torch.cat([x, *(e.detach() for e in embeddings)], dim=-1), embeddings


@torch.no_grad()
def classes_first_logits(net: StackedInputNet, inputs: Mapping) -> torch.Tensor:
    """The network's logits as (members, classes, rows), without a graph (validation)."""
    rows = inputs[FEATURES].shape[1]
    x, _ = _embedded(net, inputs, graph=False)
    buf = Buffers(net.head, x, rows, 1, False)
    forward(net.head, x, buf, buf.logits[0])
    return buf.logits[0]


def gather_rows(x: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """x[k, order[k]] for every member k: (members, rows, ...) -> (members, len(order[k]), ...),
    as one `index_select` of whole rows (advanced indexing takes several times longer)."""
    members, n = x.shape[:2]
    flat = (order + torch.arange(members, device=order.device)[:, None] * n).reshape(-1)
    return (
        x.reshape(members * n, *x.shape[2:]).index_select(0, flat).view(*order.shape, *x.shape[2:])
    )


def gradients(net, inputs: Mapping, share, minus_target, buf: Buffers, out: torch.Tensor) -> None:
    """One batch's loss gradients into the parameters' gradient views (call under no_grad):
    `inputs` (members, rows, ...), `share` (members, 1, rows: each row's weight in its member's
    loss, `row_weights`) and `minus_target` (members, classes, rows: -share at each row's class,
    `minus_targets`); the batch's logits go to `out` (members, classes, rows)."""
    head = net.head
    x, embeddings = _embedded(net, inputs)
    forward(head, x, buf, out)
    # d loss / d logits = share * (softmax - one-hot); softmax's own kernel rounds by thread split
    g = torch.log_softmax(out, 1).clamp_min_(LOG_FLOOR).exp_()
    torch.addcmul(minus_target, g, share, out=g)
    torch.hardshrink(g, FLUSH_BELOW, out=g)  # the ruled-out classes' tiny probabilities
    for p in net.encoders.parameters() if embeddings else ():  # autograd accumulates into
        p.grad.zero_()  # their gradient views
    d_x = backward(head, x, buf, g, bool(embeddings))
    if embeddings:
        n_features = inputs[FEATURES].shape[2]
        sizes = [e.shape[-1] for e in embeddings]
        torch.autograd.backward(embeddings, list(d_x[..., n_features:].split(sizes, -1)))


@torch.no_grad()
def train_epoch(
    net, flat: FlatParameters, inputs, y, share, batch: int, decay: float, keep_logits: bool
):
    """One epoch of steps over `inputs` / `y` (members, rows, ...) in batches of `batch` rows,
    with per-row loss weights `share` (`row_weights`). Returns the epoch's logits (members,
    classes, rows) when `keep_logits`."""
    steps = y.shape[1] // batch
    flat.attach_grads()
    buf = Buffers(net.head, inputs[FEATURES], batch, steps, keep_logits)
    minus_target = minus_targets(y, share, net.head.n_classes)
    for step in range(steps):
        span = slice(step * batch, (step + 1) * batch)
        batch_inputs = {name: x[:, span] for name, x in inputs.items()}
        out = buf.logits[step if keep_logits else 0]
        gradients(net, batch_inputs, share[:, :, span], minus_target[:, :, span], buf, out)
        flat.step(decay)
    return buf.epoch_logits() if keep_logits else None
