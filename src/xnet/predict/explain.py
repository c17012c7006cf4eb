"""`explain=K`: per output row, the K features that pushed the source most toward its predicted
class, with their values and contributions (`xnet.evaluation.attribution`).

Columns, for k = 1..K: `expl<k>_feature` (name; a missing-value indicator counts with its
feature), `expl<k>_value` (the feature as the model reads it before scaling, in its own units;
empty where the source lacks it) and `expl<k>_contrib` (natural-log units); `expl_total` is the
sum over all features, ln P(pred_class) minus its value at the run's baseline. Only the catalog
features are explained (a run with extra inputs, such as light curves, is refused by predict).
"""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import pyarrow as pa

from xnet.errors import XnetError
from xnet.evaluation.attribution import Explainer, Network, baseline_row, grouped
from xnet.models.artifacts.export import network_weights
from xnet.predict.forward import scale
from xnet.predict.trained_run import TrainedRun

log = logging.getLogger("xnet.predict.job")
TOTAL = "expl_total"


def modules(run: TrainedRun) -> tuple[str, ...]:
    """What explaining this run imports (SHAP only for a run with a tree member)."""
    return ("torch", "captum.attr", *(("shap",) if run.trees and run.tree_weight > 0 else ()))


def columns(k: int) -> list[tuple[str, str, str]]:
    """(feature, value, contribution) column names for k = 1..K."""
    return [(f"expl{i}_feature", f"expl{i}_value", f"expl{i}_contrib") for i in range(1, k + 1)]


class ExplainColumns:
    """The explanation columns of a run's predictions (`predict_chunk`'s `explain`)."""

    def __init__(self, run: TrainedRun, k: int, threads: int = 1):
        spec = run.spec
        self.features = list(spec.features)
        self.indicator_of = [self.features.index(f) for f in spec.indicators]
        if k > len(self.features):
            log.info("explain=%d: the model has %d features; all are listed", k, len(self.features))
        self.k = min(int(k), len(self.features))
        networks = []
        for member in run.members:
            weights = network_weights(member.model)
            if weights is None:  # a light-curve network, or one plugged in by model._target_
                plugged = getattr(member.model, "model_class", None)
                raise XnetError(
                    f"explain={k}: explanations cover catalog-feature networks only; this run's "
                    + (
                        f"network is {plugged} (model._target_)"
                        if plugged
                        else "networks also read light curves (docs/explanations.md)"
                    )
                    + "; leave explain at 0"
                )
            layers, temperature = weights
            networks.append(Network(layers, temperature, partial(scale, member.scaler)))
        statistics = [m.state["scaler"]["impute_statistics"] for m in run.members]
        import torch  # imported by the explainer; its threads follow predict's row workers

        torch.set_num_threads(max(1, int(threads)))
        self.explainer = Explainer(
            networks,
            baseline_row(statistics, len(self.features), self.indicator_of),
            len(run.classes),
            run.trees,
            run.tree_weight,
        )

    def __call__(self, x: np.ndarray, best: np.ndarray, usable: np.ndarray) -> dict[str, pa.Array]:
        n, nf = len(x), len(self.features)
        rank = np.zeros((n, self.k), np.int16)
        contrib = np.full((n, self.k), np.nan)
        total = np.full(n, np.nan)
        if usable.any():
            found = self.explainer.explain(x[usable], best[usable])
            per_feature = grouped(found.contributions, nf, self.indicator_of)
            order = np.argsort(-per_feature, axis=1, kind="stable")[:, : self.k]
            rank[usable] = order
            contrib[usable] = np.take_along_axis(per_feature, order, axis=1)
            total[usable] = found.delta
        values = np.take_along_axis(x[:, :nf], rank.astype(np.int64), axis=1)
        values[~usable] = np.nan
        out: dict[str, pa.Array] = {}
        names = pa.array(self.features)
        for i, (name, value, contribution) in enumerate(columns(self.k)):
            out[name] = pa.DictionaryArray.from_arrays(pa.array(rank[:, i], mask=~usable), names)
            out[value] = pa.array(values[:, i])
            out[contribution] = pa.array(contrib[:, i])
        out[TOTAL] = pa.array(total)
        return out

    def meta(self, classes: list[str]) -> dict[str, tuple[str | None, str, str | None]]:
        """{column: (unit, description, UCD)} for the output writers: one FITS card each
        (at most 64 characters); the method and baseline are docs/explanations.md."""
        out: dict[str, tuple[str | None, str, str | None]] = {}
        for i, (name, value, contribution) in enumerate(columns(self.k), start=1):
            out[name] = (None, f"{_ordinal(i)} strongest feature toward pred_class", "meta.id")
            out[value] = (None, f"value of {name} before scaling, in its own units", None)
            out[contribution] = (
                None,
                f"{name}'s part of ln P(pred_class) - ln P(baseline)",
                "stat.value",
            )
        out[TOTAL] = (None, "ln P(pred_class) - ln P(pred_class) at the median source", None)
        return out


def _ordinal(i: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(i, f"{i}th")
