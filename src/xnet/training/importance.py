"""Per-class feature importance of every run (`importance.enabled`).

For each held-out (test) row of a split, the contributions of its features toward ln p of its
true class, for the split's model as it predicts (networks, tree member, blend: see
`xnet.evaluation.attribution`), a missing-value indicator counted with its feature. A class's
importance of a feature is the mean |contribution| over that class's held-out rows. Under CV each
fold's block holds its own values and the run's `importance` their mean and standard deviation
over folds (a class absent from a fold's test part is left out of that fold). The baseline is the
run's median training source, the one `xnet.predict explain=K` uses.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xnet.training.results import MemberResult, SplitResult

log = logging.getLogger("xnet.train")

EXPLAINS = (
    "mean |contribution| of each feature (a missing-value indicator counted with its feature) to "
    "ln p(class) - ln p(class) at the baseline, over the held-out sources of that class"
)


def _networks(group: list[MemberResult]) -> list | None:
    from xnet.data.preprocessing import transform
    from xnet.evaluation.attribution import Network
    from xnet.models.artifacts.export import network_weights

    out = []
    for result in group:
        weights = network_weights(result.model)
        if weights is None:
            return None
        out.append(Network(*weights, partial(transform, result.member.dm.scaler)))
    return out


def _class_means(values: np.ndarray, y: np.ndarray, classes, features) -> dict:
    """{class: {feature: mean |value|}} over each class's rows (None for a class without rows)."""
    out = {}
    for k, cls in enumerate(classes):
        rows = y == k
        out[cls] = (
            dict(zip(features, np.abs(values[rows]).mean(axis=0).round(6).tolist()))
            if rows.any()
            else None
        )
    return out


def _split_importance(networks, baseline, trees, data, group) -> tuple[dict, np.ndarray]:
    """One split's {class: {feature: mean |contribution|}} on its test rows, and p at the
    baseline per class, for the split's model as it predicts."""
    from xnet.evaluation.attribution import Explainer, grouped

    features, classes = list(data.spec.features), list(data.classes)
    explainer = Explainer(
        networks,
        baseline,
        len(classes),
        [trees.arrays] if trees is not None else [],
        trees.weight if trees is not None else 0.0,
    )
    test = group[0].member.split.test
    found = explainer.explain(data.x[test], data.y[test])
    indicator_of = [features.index(f) for f in data.spec.indicators]
    per_feature = grouped(found.contributions, len(features), indicator_of)
    values = _class_means(per_feature, data.y[test], classes, features)
    return values, np.exp(explainer.baseline_log_p())


def run_importance(
    job, groups: list[list[MemberResult]], split_results: list[SplitResult]
) -> dict | None:
    """The run's `importance` block (and each CV fold block's own); None when switched off, when
    the networks read extra inputs (only catalog features are explained) or are plugged in by
    `model._target_`."""
    if not job.cfg.importance.enabled:
        return None
    from xnet.evaluation.attribution import baseline_row

    started = time.perf_counter()
    data = job.data
    features, classes = list(data.spec.features), list(data.classes)
    indicator_of = [features.index(f) for f in data.spec.indicators]
    networks = [_networks(group) for group in groups]
    if any(n is None for n in networks):
        log.info("importance: explains xnet's MLP on catalog features only; not computed")
        return None
    statistics = [r.member.dm.scaler.named_steps["impute"].statistics_ for g in groups for r in g]
    baseline = baseline_row(statistics, len(features), indicator_of)
    folds, at_baseline = [], []
    for nets, group, result in zip(networks, groups, split_results):
        values, p0 = _split_importance(nets, baseline, result.trees, data, group)
        folds.append(values)
        at_baseline.append(p0)
        if len(groups) > 1:
            result.block.importance = values
    block = summarize(folds, classes, features)
    block["baseline"] = {
        f: (None if np.isnan(v) else round(float(v), 6)) for f, v in zip(features, baseline)
    }
    # p at the baseline (mean over splits): a class the median source already resembles moves
    # little from it, so its importances are small
    block["baseline_probability"] = dict(
        zip(classes, np.mean(at_baseline, axis=0).round(4).tolist())
    )
    block["n_rows"] = {
        c: int(sum((data.y[g[0].member.split.test] == k).sum() for g in groups))
        for k, c in enumerate(classes)
    }
    log_leaders(block, time.perf_counter() - started)
    return block


def summarize(folds: list[dict], classes, features) -> dict:
    """Mean (and, over several folds, standard deviation) of the folds' values per class."""
    block: dict = {"explains": EXPLAINS, "folds": len(folds), "mean": {}}
    if len(folds) > 1:
        block["std"] = {}
    for cls in classes:
        values = np.array([[f[cls][name] for name in features] for f in folds if f[cls]])
        if not len(values):
            continue
        block["mean"][cls] = dict(zip(features, values.mean(axis=0).round(6).tolist()))
        if len(folds) > 1:
            block["std"][cls] = dict(zip(features, values.std(axis=0).round(6).tolist()))
    return block


def leaders(block: dict, cls: str, n: int = 3) -> list[str]:
    """A class's n leading features by mean importance."""
    mean = block["mean"][cls]
    return sorted(mean, key=lambda f: -mean[f])[:n]


def log_leaders(block: dict, seconds: float) -> None:
    parts = [
        f"{cls} " + ", ".join(f"{f} {block['mean'][cls][f]:.2f}" for f in leaders(block, cls))
        for cls in block["mean"]
    ]
    log.info("per-class importance (%.1f s), leading features: %s", seconds, "; ".join(parts))


def write_figure(block: dict, run_dir, renderer, writer=None) -> str:
    """`importance.png` in the run directory and, with a writer, TensorBoard `figures/importance`,
    both when `renderer` finishes; its file name."""
    from pathlib import Path

    from xnet.plotting.importance import importance_figure
    from xnet.plotting.png import add_png

    path = Path(run_dir) / "importance.png"
    title = "per-class feature importance" + (
        f" (mean ± std over {block['folds']} folds)" if block["folds"] > 1 else " (test part)"
    )
    then = None if writer is None else (lambda png: add_png(writer, "figures/importance", png))
    renderer.submit(importance_figure(block, title), path, then=then, tight=False)
    return path.name
