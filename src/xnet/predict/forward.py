"""The run's class probabilities of raw feature rows: each model's scaler and forward pass (NumPy,
or torch for a checkpoint without a current export), their mean, the tree members' blend, and the
threads that classify a chunk's rows side by side."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from xnet.models.artifacts.export import NumpyModel, NumpyScaler
from xnet.predict.trained_run import TrainedRun


def scale(scaler, x: np.ndarray) -> np.ndarray:
    """The fitted scaler applied to raw feature rows: in NumPy (`NumpyScaler`), or the checkpoint's
    scikit-learn pipeline with the median imputation done as one vectorised fill (same values)."""
    if isinstance(scaler, NumpyScaler):
        return scaler.transform(x)
    from sklearn.impute import SimpleImputer

    from xnet.data.preprocessing import transform

    name, impute = scaler.steps[0]
    if (
        name == "impute"
        and isinstance(impute, SimpleImputer)
        and not np.isnan(impute.statistics_).any()
    ):
        return transform(scaler[1:], np.where(np.isnan(x), impute.statistics_, x))
    return transform(scaler, x)


def member_proba(
    model, scaled: np.ndarray, batch_size: int, extra: dict | None = None
) -> np.ndarray:
    """One model's class probabilities of scaled rows (and their extra inputs, a light curve):
    NumPy forward pass, or torch for a checkpoint without a current export."""
    if isinstance(model, NumpyModel):
        return model.predict_proba(scaled, batch_size, extra)
    import torch

    inputs = {"features": torch.from_numpy(scaled)}
    for name, values in (extra or {}).items():
        inputs[name] = torch.from_numpy(np.asarray(values, np.float32))
    batches = [
        model.predict_proba({k: v[s : s + batch_size] for k, v in inputs.items()}).numpy()
        for s in range(0, len(scaled), batch_size)
    ]
    return np.concatenate(batches)


def predict_proba(
    run: TrainedRun,
    x: np.ndarray,
    batch_size: int,
    threads: RowThreads | None = None,
    extra: dict | None = None,
) -> np.ndarray:
    """Mean over the run's models of the class probabilities of raw (unscaled) feature rows; with
    `threads`, the rows are split between them (the same values: each part is whole batches)."""
    if extra:  # the parts are row ranges of x and of every extra input alike

        def part(rows: np.ndarray) -> np.ndarray:
            return _predict_proba(run, x[rows], batch_size, {k: v[rows] for k, v in extra.items()})

        rows = np.arange(len(x))
        return threads.map(part, rows, batch_size) if threads is not None else part(rows)
    if threads is not None:
        return threads.map(lambda part: _predict_proba(run, part, batch_size), x, batch_size)
    return _predict_proba(run, x, batch_size)


def _predict_proba(
    run: TrainedRun, x: np.ndarray, batch_size: int, extra: dict | None = None
) -> np.ndarray:
    total = np.zeros((len(x), len(run.classes)), np.float32)
    for member in run.members:
        total += member_proba(member.model, scale(member.scaler, x), batch_size, extra)
    if len(run.members) > 1:
        total /= len(run.members)
    if (
        run.trees
    ):  # `ensemble.trees`: the splits' tree members on the raw features, blended as in training
        trees = np.mean([t.predict_proba(x) for t in run.trees], axis=0)
        total = ((1.0 - run.tree_weight) * total + run.tree_weight * trees).astype(np.float32)
    return total


class RowThreads:
    """Threads that classify parts of a chunk's rows side by side: NumPy releases the GIL in the
    scaling and the matrix products, so a second core nearly halves the forward pass. The parts are
    whole `batch_size` batches, so every row sees exactly the computation of a single thread."""

    def __init__(self, n: int):
        self.n = max(1, int(n))
        self.pool = (
            ThreadPoolExecutor(self.n - 1, thread_name_prefix="xnet-rows") if self.n > 1 else None
        )

    def map(self, func, x: np.ndarray, batch_size: int) -> np.ndarray:
        batches = -(-len(x) // batch_size)
        if self.pool is None or batches < 2:
            return func(x)
        edges = [min(len(x), round(batches * k / self.n) * batch_size) for k in range(self.n + 1)]
        parts = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
        futures = [self.pool.submit(func, x[a:b]) for a, b in parts[1:]]
        first = func(x[parts[0][0] : parts[0][1]])
        return np.concatenate([first, *(f.result() for f in futures)])

    def __enter__(self) -> RowThreads:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
