"""Why a source got its class: additive feature contributions for a whole xnet run.

What is explained. A run decides c = argmax_k [log p_k(x) - a log pi_k] (`xnet.models.decision`),
p = (1 - w) mean_m softmax(z_m / T_m) + w mean_t softmax(r_t): its networks' tempered softmax
averaged, blended with its tree members (`ensemble.trees`, weight w). For each row the explained
quantity is the log-probability of the decided (or a given) class against a baseline,
log p_c(x) - log p_c(x0), in natural-log units. The prior term a log pi_c is the same at x and x0:
it only chooses c. The baseline x0 is the run's median training source: every model input at its
training median (the imputer's statistics, averaged over the run's networks), so a feature that
most training sources lack (a missing-value indicator whose median is 1) is missing there too.

How. Contributions to each network's logits: Captum's DeepLift, rescale rule, exact for ReLU
networks (`xnet.evaluation.deeplift`). Contributions to each tree member's raw scores: SHAP's
interventional TreeSHAP with x0 as the only background row, exact (`xnet.evaluation.treeshap`).
The head (tempered softmax, blend, log) is smooth but not piecewise linear: its change is shared
out along the straight line from the baseline's logits to the row's, by its mean gradient there
(integrated gradients of the head, Gauss-Legendre quadrature), and feature i gets the sum over
logits of that mean gradient times its contribution to the logit. All contributions of a row then
add up to log p_c(x) - log p_c(x0) up to the quadrature error; rows above `TOLERANCE` are
integrated again on finer panels. The scaler works per feature and is monotone, so contributions
to scaled inputs are those of the raw feature values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: largest |sum of a row's contributions - its log-probability change| the head quadrature leaves
TOLERANCE = 1e-6
ORDER = 12  # Gauss-Legendre nodes per panel
MAX_PANELS = 256
ABSENT = -1e30  # logit of a class a tree member never saw (probability 0, no contribution)


@dataclass
class Network:
    """One network: its layers (weight in x out, bias), temperature and scaler (raw -> scaled)."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    temperature: float
    scale: Callable[[np.ndarray], np.ndarray]


@dataclass
class Explanation:
    contributions: np.ndarray  # (rows, model inputs), natural-log units
    delta: np.ndarray  # (rows,) log p_c(x) - log p_c(x0)
    log_p_baseline: np.ndarray  # (rows,) log p_c(x0)


def baseline_row(
    statistics: Sequence[Sequence[float]], n_features: int, indicator_of: Sequence[int]
) -> np.ndarray:
    """The median training source from the networks' imputation statistics (one row each, over all
    model inputs): medians averaged; an indicator is 1 where it is on average at least one half,
    and then its feature is missing (NaN) at the baseline as well."""
    row = np.asarray(statistics, float).mean(axis=0)
    missing = row[n_features:] >= 0.5
    row[n_features:] = missing
    row[np.asarray(indicator_of, int)[missing]] = np.nan
    return row


@dataclass
class Explainer:
    """A run as it predicts (networks, tree members as `TreeArrays`, blend weight) and its
    baseline row of raw model inputs (`xnet.data.features.FeatureSpec` order: features, then
    indicators; NaN where missing); `rows_per_pass` bounds rows x networks per DeepLift pass."""

    networks: list[Network]
    baseline: np.ndarray
    n_classes: int
    trees: list = field(default_factory=list)
    tree_weight: float = 0.0
    rows_per_pass: int = 1 << 16

    def __post_init__(self) -> None:
        from xnet.evaluation.deeplift import NetworkContributions

        self.nets = NetworkContributions([n.layers for n in self.networks])
        self.temperature = np.array([float(n.temperature) for n in self.networks])
        self.scaled_baseline = self.scaled(self.baseline[None, :])[0]
        logits = self.nets.logits(self.scaled_baseline[None])[:, 0] / self.temperature[:, None]
        self.tree_parts = []
        if self.trees and self.tree_weight > 0:
            from xnet.evaluation.treeshap import TreeContributions

            self.tree_parts = [TreeContributions(t, self.baseline) for t in self.trees]
        trees = [
            self._in_classes(p, p.baseline_scores[None, :], ABSENT)[0] for p in self.tree_parts
        ]
        self.u0 = np.concatenate([logits, *(t[None] for t in trees)])  # (components, classes)
        weight = self.tree_weight if self.tree_parts else 0.0
        self.shares = np.concatenate(
            [
                np.full(len(self.networks), (1.0 - weight) / len(self.networks)),
                np.full(len(self.tree_parts), weight / max(1, len(self.tree_parts))),
            ]
        )

    def scaled(self, raw: np.ndarray) -> np.ndarray:
        """(rows, networks, inputs): each network's scaled copy of the rows."""
        return np.stack([np.asarray(n.scale(raw), np.float32) for n in self.networks], axis=1)

    def baseline_log_p(self) -> np.ndarray:
        """log p_k at the baseline, for every class k."""
        k = np.arange(self.n_classes)
        return _log_p(
            np.broadcast_to(self.u0[:, None, :], (len(self.u0), len(k), len(k))), self.shares, k
        )

    def explain(self, raw: np.ndarray, target: np.ndarray) -> Explanation:
        """Contributions of each model input toward log p of class `target[i]` of each raw row."""
        step = max(1, self.rows_per_pass // len(self.networks))
        parts = [
            self._explain(raw[s : s + step], np.asarray(target[s : s + step], np.int64))
            for s in range(0, len(raw), step)
        ]
        return Explanation(*(np.concatenate([p[i] for p in parts]) for i in range(3)))

    def _explain(self, raw: np.ndarray, target: np.ndarray) -> tuple:
        scaled = self.scaled(raw)
        logits = self.nets.logits(scaled) / self.temperature[:, None, None]
        m = len(self.networks)
        phis = [self._in_classes(p, p.contributions(raw), 0.0) for p in self.tree_parts]
        u = np.concatenate(
            [logits, *((u0 + phi.sum(axis=1))[None] for u0, phi in zip(self.u0[m:], phis))]
        )  # a tree member's scores: its baseline's plus its contributions (exact, one walk)
        u0 = self.u0[:, None, :]
        gradient, delta, log_p0 = head_path_gradient(u0, u - u0, self.shares, target)
        read_out = (gradient[:m] / self.temperature[:, None, None]).transpose(1, 0, 2)
        out = self.nets.contributions(scaled, self.scaled_baseline, read_out)
        for phi, g in zip(phis, gradient[m:]):
            out += np.einsum("nfk,nk->nf", phi, g)
        return out, delta, log_p0

    def _in_classes(self, part, values: np.ndarray, fill: float) -> np.ndarray:
        """A tree member's per-output values (scores or contributions, outputs last) placed at
        the run's classes: `fill` for a class it never saw; with two classes, its one logit is
        the second class's, the first's fixed at 0."""
        classes = np.asarray(part.arrays.classes)
        out = np.full((*values.shape[:-1], self.n_classes), fill)
        if values.shape[-1] == 1:
            out[..., classes[0]] = 0.0
            out[..., classes[1]] = values[..., 0]
        else:
            out[..., classes] = values
        return out


def _log_p(u: np.ndarray, shares: np.ndarray, target: np.ndarray) -> np.ndarray:
    """log of the blend's probability of each row's target class; u (components, rows, classes)."""
    s = np.exp(u - u.max(axis=2, keepdims=True))
    s /= s.sum(axis=2, keepdims=True)
    sc = np.take_along_axis(s, np.broadcast_to(target[None, :, None], (len(u), len(target), 1)), 2)
    return np.log(np.einsum("j,jn->n", shares, sc[:, :, 0]))


def _head_gradient(u: np.ndarray, shares: np.ndarray, target: np.ndarray) -> np.ndarray:
    """d log p_target / d u for every component's (tempered) logits."""
    s = np.exp(u - u.max(axis=2, keepdims=True))
    s /= s.sum(axis=2, keepdims=True)
    sc = np.take_along_axis(s, np.broadcast_to(target[None, :, None], (len(u), len(target), 1)), 2)
    p = np.einsum("j,jn->n", shares, sc[:, :, 0])
    onehot = np.arange(u.shape[2])[None, :] == target[:, None]
    return shares[:, None, None] * sc * (onehot[None] - s) / p[None, :, None]


def _path_mean(u0, du, shares, target, panels: int) -> np.ndarray:
    nodes, weights = np.polynomial.legendre.leggauss(ORDER)
    total = np.zeros_like(du)
    for k in range(panels):
        for t, w in zip((k + (nodes + 1) / 2) / panels, weights / 2 / panels):
            total += w * _head_gradient(u0 + t * du, shares, target)
    return total


def head_path_gradient(u0, du, shares, target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean gradient of log p_target along u0 + t du, t in [0, 1] (components, rows, classes),
    the change log p(u0 + du) - log p(u0) and log p(u0); rows whose mean gradient misses the
    change by more than TOLERANCE are integrated on 4x finer panels, up to MAX_PANELS."""
    du = np.where(du == 0, 0.0, du)  # an absent class: ABSENT - ABSENT
    log_p0 = _log_p(u0 + 0 * du, shares, target)
    delta = _log_p(u0 + du, shares, target) - log_p0
    gradient = _path_mean(u0, du, shares, target, 1)
    panels, rows = 1, np.arange(len(target))
    while panels < MAX_PANELS:
        miss = np.abs((gradient[:, rows] * du[:, rows]).sum(axis=(0, 2)) - delta[rows])
        rows = rows[miss > TOLERANCE]
        if not len(rows):
            break
        panels *= 4
        gradient[:, rows] = _path_mean(u0, du[:, rows], shares, target[rows], panels)
    return gradient, delta, log_p0


def grouped(contributions: np.ndarray, n_features: int, indicator_of: Sequence[int]) -> np.ndarray:
    """(rows, features): each missing-value indicator's contribution added to its feature's."""
    out = np.array(contributions[:, :n_features], dtype=float)
    for j, feature in enumerate(indicator_of):
        out[:, feature] += contributions[:, n_features + j]
    return out
