"""One chunk of the input: canonical columns, features, probabilities (mean over the run's
models), decisions and flags, as the output rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from xnet.data.catalog import label_values, probability_column, to_numeric
from xnet.data.extreme import unread_counts
from xnet.data.features import build_features
from xnet.data.ids import known_rows
from xnet.data.tables import TableChunk
from xnet.errors import XnetError
from xnet.models.decision import decide
from xnet.models.export import NumpyModel, NumpyScaler
from xnet.predict.flags import NOT_CLASSIFIED, RowFlags
from xnet.predict.plan import InputPlan
from xnet.predict.trained_run import TrainedRun

#: prediction columns (the input's id, position and label columns come first, under their own names)
PRED_CLASS, PRED_PROB, FLAG, ROW, IN_TRAINING = (
    "pred_class",
    "pred_prob",
    "flag",
    "row",
    "in_training",
)
CONFIDENCE = "confidence"


#: the longest description that stays one FITS card (TCOMMn) and one VOTable DESCRIPTION line
DESCRIPTION_MAX = 64


def column_meta(plan: InputPlan, classes: list[str], run: TrainedRun | None = None) -> dict:
    """{output column: (unit, description, UCD)} for FITS and VOTable outputs: descriptions in an
    astronomer's words, each at most `DESCRIPTION_MAX` characters; IVOA UCDs for positions,
    identifiers, classes and probabilities."""
    plain = run is None or run.confidence == "lower_bound" or not run.prior_power
    meta: dict[str, tuple[str | None, str, str | None]] = {
        ROW: (None, "row number in the input catalog (from 0)", "meta.record"),
        PRED_CLASS: (None, "predicted class (empty: no features to classify)", "src.class"),
        PRED_PROB: (None, "probability of pred_class (calibrated)", "stat.probability"),
        FLAG: (None, "why not to trust the row (empty: no reason known)", "meta.code.qual"),
        CONFIDENCE: (
            None,
            "sort or cut on it (metrics.json coverage); = pred_prob here"
            if plain
            else "pred_prob after the class-prior adjustment; sort or cut on it",
            "stat.probability",
        ),
        IN_TRAINING: (None, "true: the run trained or validated on it (not a test)", "meta.code"),
    }
    for c in classes:
        meta[probability_column(c)] = (
            None,
            f"calibrated probability that the source is {c}"[:DESCRIPTION_MAX],
            "stat.probability",
        )
    for column in plan.carried:
        meta[column] = (None, f"{column} of the input catalog"[:DESCRIPTION_MAX], None)
    if plan.label:
        meta[plan.label] = (None, "class given in the input catalog", "src.class")
    for column, axis, ucd in (
        (plan.ra, "right ascension", "pos.eq.ra"),
        (plan.dec, "declination", "pos.eq.dec"),
    ):
        if column:
            meta[column] = ("deg", f"{axis} (J2000) from the input catalog", f"{ucd};meta.main")
    if plan.id:
        meta[plan.id] = (None, "source identifier in the input catalog", "meta.id;meta.main")
    return meta


def _as_series(values: np.ndarray, rows: np.ndarray, path: Path, column: str) -> pd.Series:
    if values.ndim != 1:
        raise XnetError(
            f"{path}: column '{column}' holds arrays of shape {values.shape[1:]}, not single values; map a scalar column"
        )
    if (
        values.dtype.kind == "S"
    ):  # FITS text: decoded only when a number was expected (for the message)
        values = np.char.decode(values, "utf-8", "replace").astype(object)
    return pd.Series(values, index=rows, copy=False)


def canonical_frame(chunk: TableChunk, plan: InputPlan, path: Path) -> pd.DataFrame:
    """The chunk's mapped columns as floats under canonical names (row numbers as index)."""
    out = {}
    for canon, column in plan.canonical.items():
        series = _as_series(chunk.columns[column], chunk.rows, path, column)
        try:
            out[canon] = to_numeric(series, path=path, column=column, canonical=canon).to_numpy(
                dtype=float
            )
        except (TypeError, ValueError):
            raise XnetError(
                f"{path}: column '{column}' (feature input '{canon}') has values of type "
                f"{type(series.iloc[0]).__name__}, not numbers; map a numeric column"
            ) from None
    return pd.DataFrame(out, index=chunk.rows)


def to_arrow(values: np.ndarray) -> pa.Array:
    """An input column for the output table: text trimmed, numbers as they are."""
    if values.dtype.kind == "S":
        return pc.utf8_rtrim_whitespace(pa.array(values, pa.binary()).cast(pa.string()))
    if values.dtype.kind in "OU":
        return pa.array(values, from_pandas=True)
    return pa.array(values)


def labels_of(values: np.ndarray, label_map=None, path="", column="") -> np.ndarray:
    """Class labels as training reads them (`label_values`: as written, `label_map` applied), from
    FITS bytes or CSV text too."""
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", "replace")
    return label_values(pd.Series(values), label_map, path=path, column=column)


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


@dataclass
class Tally:
    """What the chunks add up to: row counts, classes, flags and (labelled input) true/predicted codes."""

    n_classes: int
    rows: int = 0
    usable: int = 0
    per_class: np.ndarray | None = None
    flag_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    y_true: list[np.ndarray] = field(default_factory=list)
    y_pred: list[np.ndarray] = field(default_factory=list)
    seen: list[np.ndarray] = field(
        default_factory=list
    )  # labelled: rows the run trained or validated on
    in_training: int = 0
    not_classified: int = 0  # rows with features whose probabilities were not finite
    unread: dict = field(default_factory=dict)  # values read as missing (`unread_counts`)
    unclassified: list[np.ndarray] = field(default_factory=list)  # labelled: those rows

    def add(
        self,
        best: np.ndarray,
        usable: np.ndarray,
        codes: np.ndarray,
        n_flags: int,
        truth: np.ndarray | None,
        in_training: np.ndarray | None = None,
        unclassified: np.ndarray | None = None,
    ) -> None:
        """One chunk's predicted codes (-1: no prediction), flag codes, rows the run was trained or
        validated on (None: unknown), rows not classified (non-finite probabilities) and,
        labelled, true codes."""
        seen = np.zeros(len(best), bool) if in_training is None else in_training
        unclassified = np.zeros(len(best), bool) if unclassified is None else unclassified
        self.in_training += int(seen.sum())
        self.not_classified += int(unclassified.sum())
        self.rows += len(best)
        self.usable += int(usable.sum())
        counts = np.bincount(best[usable], minlength=self.n_classes)
        self.per_class = counts if self.per_class is None else self.per_class + counts
        grown = np.zeros(n_flags, np.int64)
        grown[: len(self.flag_counts)] = self.flag_counts
        self.flag_counts = grown + np.bincount(codes, minlength=n_flags)
        if truth is not None:
            self.y_true.append(truth)
            self.y_pred.append(best.astype(np.int64))
            self.seen.append(seen)
            self.unclassified.append(unclassified)


def id_columns(plan: InputPlan) -> list[str]:
    """The input columns matched against a run's training ids: the id and the kept columns."""
    return [c for c in [plan.id, *plan.keep] if c]


def training_rows(
    carried: dict[str, pa.Array], plan: InputPlan, ids: set[str] | None, n: int
) -> np.ndarray | None:
    """Rows whose id (the catalog config's `id`, or one of its `keep_columns`, such as 4XMM's
    IAUNAME; as written to the output) is among the run's training and validation ids; None when
    that cannot be known."""
    columns = id_columns(plan)
    if ids is None or not columns:
        return None
    mask = np.zeros(n, bool)
    for column in columns:
        mask |= known_rows(carried[column], ids)
    return mask


def predict_chunk(
    chunk: TableChunk,
    run: TrainedRun,
    plan: InputPlan,
    flags: RowFlags,
    path: Path,
    batch_size: int,
    tally: Tally,
    threads: RowThreads | None = None,
    explain=None,
    lightcurves=None,
) -> pa.RecordBatch:
    """Features, probabilities and flags of one chunk, as the output rows (`threads`: see
    `RowThreads`; `explain`: `xnet.predict.explain.ExplainColumns`, the `explain=K` columns;
    `lightcurves`: a light-curve run's `xnet.predict.lightcurves.ChunkLightCurves`)."""
    frame = canonical_frame(chunk, plan, path)
    for key, count in unread_counts(frame, plan.canonical).items():
        tally.unread[key] = tally.unread.get(key, 0) + count
    extra = None
    if lightcurves is not None:  # timing columns and the binned light curves of the chunk's rows
        frame, extra = lightcurves.add(frame, chunk.columns)
    spec = run.spec
    features = build_features(frame, spec)
    x = features.to_numpy(dtype=float)
    x_raw = x[:, : len(spec.features)]
    sum_flag = frame["sum_flag"].to_numpy() if "sum_flag" in plan.flag_inputs else None
    extent = frame["extent"].to_numpy() if "extent" in plan.flag_inputs else None
    codes, usable = flags(x_raw, sum_flag, extent)
    n, classes = len(x), run.classes
    with np.errstate(all="ignore"):  # an absurd value overflows: such a row is not classified
        if usable.all():
            proba = predict_proba(run, x, batch_size, threads, extra)
        else:
            proba = np.full((n, len(classes)), np.nan, np.float32)
            if usable.any():
                kept = {k: v[usable] for k, v in extra.items()} if extra else None
                proba[usable] = predict_proba(run, x[usable], batch_size, threads, kept)
    unclassified = usable & ~np.isfinite(proba).all(axis=1)
    if unclassified.any():  # no class from NaN: flagged, no probabilities, left out of metrics
        proba[unclassified] = np.nan
        usable = usable & ~unclassified
        codes = flags.with_reason(codes, unclassified, NOT_CLASSIFIED)
    best = decide(np.nan_to_num(proba), run.class_prior, run.prior_power).astype(np.int16)
    best[~usable] = -1

    columns: dict[str, pa.Array] = {}
    if plan.id is None:
        columns[ROW] = pa.array(chunk.rows.astype(np.int64))
    for column in plan.carried:
        if column in (plan.ra, plan.dec):  # as numbers, whatever the file's type
            series = _as_series(chunk.columns[column], chunk.rows, path, column)
            columns[column] = pa.array(
                to_numeric(series, path=path, column=column, canonical=column).to_numpy(dtype=float)
            )
        else:
            columns[column] = to_arrow(chunk.columns[column])
    columns[PRED_CLASS] = pa.DictionaryArray.from_arrays(
        pa.array(best, mask=~usable), pa.array(classes)
    )
    columns[PRED_PROB] = pa.array(proba.max(axis=1))  # NaN for rows without features
    # the score metrics.json's coverage curve ranks by (the run's coverage.confidence): keep rows
    # with confidence >= the curve's threshold to cut the catalog at that coverage
    from xnet.predict.confidence import run_confidence

    columns[CONFIDENCE] = pa.array(
        np.where(usable, run_confidence(run, proba, np.clip(best, 0, None)), np.nan)
    )
    for k, cls in enumerate(classes):
        columns[probability_column(cls)] = pa.array(proba[:, k])
    columns[FLAG] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(flags.vocabulary))
    in_training = training_rows(columns, plan, run.training_ids, n)
    columns[IN_TRAINING] = pa.nulls(n, pa.bool_()) if in_training is None else pa.array(in_training)
    if explain is not None:
        columns.update(explain(x, best, usable))

    truth = None
    if plan.label:  # codes of the model's classes, -1 for any other label
        truth = pd.Categorical(
            labels_of(chunk.columns[plan.label], plan.data_cfg.get("label_map"), path, plan.label),
            categories=classes,
        ).codes.astype(np.int64)
    tally.add(best, usable, codes, len(flags.vocabulary), truth, in_training, unclassified)
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
