"""Scaling and class rebalancing, fit on training rows only.

The scaler is the study's: median imputation (for the NaNs left after the missing indicators),
Yeo-Johnson PowerTransformer, then MinMaxScaler to [0, 1]. Its fitted parameters travel in
checkpoints as plain lists, so loading a model never unpickles code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, PowerTransformer, StandardScaler

from xnet.errors import XnetError

log = logging.getLogger(__name__)


def make_scaler() -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("power", PowerTransformer(method="yeo-johnson", standardize=False)),
            ("standard", StandardScaler()),
            ("minmax", MinMaxScaler()),
        ]
    )


def fit_scaler(x_train: np.ndarray, names: list[str] | None = None) -> Pipeline:
    """Fit the scaler on training rows (never validation or test rows).

    Same pipeline and result as `make_scaler().fit(x_train)`, but the Yeo-Johnson lambdas come from
    `yeo_johnson_lambdas` (scipy's optimiser on a plain numpy likelihood): scikit-learn's fit spends
    ~0.25 s per 2,000-row, 33-feature training part in scipy's per-call wrapper overhead, which
    dominated a 5-fold CV of the 30-30 MLP. A feature whose values overflow the transform (1e308)
    is one line naming it (`names`), before any network trains.
    """
    scaler = make_scaler()
    impute, power, standard, minmax = scaler.named_steps.values()
    with np.errstate(all="ignore"):
        x = impute.fit_transform(x_train)
        power.lambdas_ = yeo_johnson_lambdas(x)
        power.n_features_in_ = x.shape[1]
        x = power.transform(x)
        check_scalable(x_train, x, power.lambdas_, names)
        minmax.fit(standard.fit_transform(x))
    return scaler


def check_scalable(raw: np.ndarray, transformed: np.ndarray, lambdas, names) -> None:
    """Training values too large for the Yeo-Johnson transform (it overflows, or its lambda
    cannot be bounded) are one line naming the feature and its largest value."""
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(lambdas) | ~np.isfinite(transformed).all(axis=0)
        bad |= ~np.isfinite((transformed - transformed.mean(axis=0)) ** 2).all(axis=0)
    if not bad.any():
        return
    names = names or [f"column {j}" for j in range(raw.shape[1])]
    listed = ", ".join(
        f"{names[j]} (up to {np.nanmax(np.abs(raw[:, j])):g})" for j in np.flatnonzero(bad)
    )
    raise XnetError(
        f"training values of {listed} are too large to scale (the Yeo-Johnson transform "
        f"overflows); "
        f"set data.extreme_values.action=missing (or clip), or fix the catalog"
    )


def _yeo_johnson(x: np.ndarray, lmbda: float) -> np.ndarray:
    """The Yeo-Johnson transform (scipy.stats' formula)."""
    out = np.empty_like(x)
    pos = x >= 0
    eps = np.finfo(float).eps
    out[pos] = np.log1p(x[pos]) if abs(lmbda) < eps else np.expm1(lmbda * np.log1p(x[pos])) / lmbda
    neg = ~pos
    if abs(lmbda - 2) > eps:
        out[neg] = -np.expm1((2 - lmbda) * np.log1p(-x[neg])) / (2 - lmbda)
    else:
        out[neg] = -np.log1p(-x[neg])
    return out


def yeo_johnson_lambdas(x: np.ndarray) -> np.ndarray:
    """Maximum-likelihood Yeo-Johnson lambda per column, as `scipy.stats.yeojohnson_normmax` finds
    it (same log-likelihood, bounds and `optimize.fminbound` tolerance), NaNs ignored."""
    from scipy import optimize

    lambdas = np.ones(x.shape[1])
    finfo = np.finfo(float)
    log_eps = np.log(finfo.eps)
    log_tiny = (np.log(finfo.tiny) - log_eps) / 2
    log_max = (np.log(finfo.max) + log_eps) / 2
    for j in range(x.shape[1]):
        col = x[:, j][~np.isnan(x[:, j])]
        if col.size == 0 or np.all(col == 0):
            continue
        log_term = np.sum(np.sign(col) * np.log1p(np.abs(col)))
        n = col.size

        def neg_llf(lmbda: float, col=col, n=n, log_term=log_term) -> float:
            var = np.var(_yeo_johnson(col, lmbda))
            if not var >= finfo.smallest_normal:
                return np.inf
            llf = -n / 2 * np.log(var) + (lmbda - 1) * log_term
            return -llf if np.isfinite(llf) else np.inf

        log1p_max = np.log1p(20 * np.max(np.abs(col)))
        if not np.isfinite(log1p_max):  # |x| > 1e307: no bounds; `check_scalable` names it
            lambdas[j] = np.nan
            continue
        lb, ub = log_tiny / log1p_max, log_max / log1p_max
        if np.all(col < 0):
            lb, ub = 2 - ub, 2 - lb
        elif np.any(col < 0):
            lb, ub = max(2 - ub, lb), min(2 - lb, ub)
        lambdas[j] = optimize.fminbound(neg_llf, lb, ub, xtol=1.48e-08)
    return lambdas


def scaler_state(scaler: Pipeline) -> dict:
    """Fitted parameters as plain lists (safe to store in a checkpoint)."""
    impute, power, standard, minmax = scaler.named_steps.values()
    return {
        "impute_statistics": impute.statistics_.tolist(),
        "power_lambdas": power.lambdas_.tolist(),
        "standard_mean": standard.mean_.tolist(),
        "standard_scale": standard.scale_.tolist(),
        "minmax_data_min": minmax.data_min_.tolist(),
        "minmax_data_max": minmax.data_max_.tolist(),
    }


def scaler_from_state(state: Mapping) -> Pipeline:
    """Rebuild the fitted pipeline from `scaler_state` output without unpickling anything.

    Imputer, standard and min-max scalers are refitted on two-row arrays that reproduce their
    statistics exactly; the Yeo-Johnson lambdas are set (they have no closed-form inverse fit).
    """
    scaler = make_scaler()
    impute, power, standard, minmax = scaler.named_steps.values()
    stats = np.asarray(state["impute_statistics"], dtype=float)
    mean = np.asarray(state["standard_mean"], dtype=float)
    scale = np.asarray(state["standard_scale"], dtype=float)
    impute.fit(stats[None, :])
    power.lambdas_ = np.asarray(state["power_lambdas"], dtype=float)
    power.n_features_in_ = len(stats)
    standard.fit(np.stack([mean - scale, mean + scale]))
    standard.scale_ = scale  # exact, and 1.0 where the training column was constant, as fitted
    minmax.fit(
        np.stack(
            [
                np.asarray(state["minmax_data_min"], float),
                np.asarray(state["minmax_data_max"], float),
            ]
        )
    )
    return scaler


def transform(scaler: Pipeline, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return scaler.transform(x).astype(np.float32)


def resample_targets(counts: Mapping[str, int], targets: Mapping) -> dict[str, int]:
    """Per-class target counts from the YAML (`default` plus named classes)."""
    default = targets.get("default")
    out = {}
    for cls in counts:
        target = targets.get(cls, default)
        if target is not None:
            out[cls] = int(target)
    return out


def resample_training_set(
    x: np.ndarray,
    y: np.ndarray,
    classes: list[str],
    resample_cfg: Mapping,
    seed: int,
    parents: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """SMOTE minority classes up to their target and, for `smote_under`, randomly undersample
    majority classes down to theirs. Called on the (scaled) training part only. With `parents`
    (a source row per row of x), also returns each output row's: its own for a kept row, for a
    SMOTE row the nearest original row of its class (`smote_parents`)."""
    method = resample_cfg.get("name", "none")
    if method in (None, "none"):
        return (x, y) if parents is None else (x, y, parents)
    if method not in ("smote", "smote_under"):
        raise XnetError(f"resample.name={method!r} is not one of none, smote, smote_under")
    from imblearn.over_sampling import SMOTE
    from imblearn.under_sampling import RandomUnderSampler

    counts = {classes[i]: int(n) for i, n in zip(*np.unique(y, return_counts=True))}
    targets = resample_targets(counts, resample_cfg.get("targets") or {})
    index = {c: i for i, c in enumerate(classes)}
    up = {index[c]: t for c, t in targets.items() if t > counts[c]}
    if up:
        smallest = min(counts[classes[i]] for i in up)
        k = min(int(resample_cfg.get("k_neighbors", 5)), smallest - 1)
        if k < 1:
            raise XnetError(
                f"SMOTE needs at least 2 training sources per class; raise split.min_class_count "
                f"(smallest class to oversample has {smallest})"
            )
        if k < int(resample_cfg.get("k_neighbors", 5)):
            log.info(
                "SMOTE k_neighbors shrunk to %d for a class with %d training sources", k, smallest
            )
        x0, y0 = x, y
        x, y = SMOTE(sampling_strategy=up, k_neighbors=k, random_state=seed).fit_resample(x, y)
        if parents is not None:
            parents = smote_parents(x0, y0, x, y, parents)
    if method == "smote_under":
        down = {index[c]: t for c, t in targets.items() if t < counts[c]}
        if down:
            under = RandomUnderSampler(sampling_strategy=down, random_state=seed)
            x, y = under.fit_resample(x, y)
            parents = None if parents is None else parents[under.sample_indices_]
    x = x.astype(np.float32)
    return (x, y) if parents is None else (x, y, parents)


def smote_parents(
    x0: np.ndarray, y0: np.ndarray, x: np.ndarray, y: np.ndarray, parents: np.ndarray
) -> np.ndarray:
    """Source rows of SMOTE's output: imbalanced-learn returns the original rows first (checked),
    then the synthetic ones, each on a segment between two rows of its class; a synthetic row takes
    the nearest original row of its class (the nearer of the two, or one nearer still)."""
    from sklearn.neighbors import NearestNeighbors

    n = len(x0)
    if len(x) < n or not np.array_equal(x[:n], x0) or not np.array_equal(y[:n], y0):
        raise XnetError("SMOTE did not keep the original rows first; cannot carry extra inputs")
    out = np.concatenate([parents, np.empty(len(x) - n, dtype=parents.dtype)])
    for code in np.unique(y[n:]):
        own = np.flatnonzero(y0 == code)
        new = n + np.flatnonzero(y[n:] == code)
        nearest = NearestNeighbors(n_neighbors=1).fit(x0[own]).kneighbors(x[new])[1][:, 0]
        out[new] = parents[own[nearest]]
    return out
