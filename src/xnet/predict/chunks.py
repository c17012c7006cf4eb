"""One chunk of the input: canonical columns, features, probabilities (mean over the run's
models), decisions and flags, as the output rows."""

from __future__ import annotations

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
from xnet.predict.columns import CONFIDENCE, FLAG, IN_TRAINING, PRED_CLASS, PRED_PROB, ROW
from xnet.predict.flags import NOT_CLASSIFIED, RowFlags
from xnet.predict.forward import RowThreads, predict_proba
from xnet.predict.plan import InputPlan
from xnet.predict.trained_run import TrainedRun


def _as_series(values: np.ndarray, rows: np.ndarray, path: Path, column: str) -> pd.Series:
    if values.ndim != 1:
        raise XnetError(
            f"{path}: column '{column}' holds arrays of shape {values.shape[1:]}, not single "
            f"values; map a scalar column"
        )
    if values.dtype.kind == "S":  # FITS text: decoded only when a number was expected (message)
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


@dataclass
class Tally:
    """What the chunks add up to: row counts, classes, flags and (labelled input) true and
    predicted codes."""

    n_classes: int
    rows: int = 0
    usable: int = 0
    per_class: np.ndarray | None = None
    flag_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    y_true: list[np.ndarray] = field(default_factory=list)
    y_pred: list[np.ndarray] = field(default_factory=list)
    seen: list[np.ndarray] = field(default_factory=list)  # labelled: rows trained or validated on
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
    x = build_features(frame, run.spec).to_numpy(dtype=float)
    sum_flag = frame["sum_flag"].to_numpy() if "sum_flag" in plan.flag_inputs else None
    extent = frame["extent"].to_numpy() if "extent" in plan.flag_inputs else None
    codes, usable = flags(x[:, : len(run.spec.features)], sum_flag, extent)
    proba = chunk_proba(run, x, usable, batch_size, threads, extra)
    unclassified = usable & ~np.isfinite(proba).all(axis=1)
    if unclassified.any():  # no class from NaN: flagged, no probabilities, left out of metrics
        proba[unclassified] = np.nan
        usable = usable & ~unclassified
        codes = flags.with_reason(codes, unclassified, NOT_CLASSIFIED)
    best = decide(np.nan_to_num(proba), run.class_prior, run.prior_power).astype(np.int16)
    best[~usable] = -1
    columns = output_columns(chunk, run, plan, path, proba, best, usable)
    columns[FLAG] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(flags.vocabulary))
    in_training = training_rows(columns, plan, run.training_ids, len(x))
    columns[IN_TRAINING] = (
        pa.nulls(len(x), pa.bool_()) if in_training is None else pa.array(in_training)
    )
    if explain is not None:
        columns.update(explain(x, best, usable))
    truth = truth_codes(chunk, plan, run.classes, path) if plan.label else None
    tally.add(best, usable, codes, len(flags.vocabulary), truth, in_training, unclassified)
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def chunk_proba(
    run: TrainedRun,
    x: np.ndarray,
    usable: np.ndarray,
    batch_size: int,
    threads: RowThreads | None,
    extra: dict | None,
) -> np.ndarray:
    """The class probabilities of the usable rows (NaN for the others)."""
    with np.errstate(all="ignore"):  # an absurd value overflows: such a row is not classified
        if usable.all():
            return predict_proba(run, x, batch_size, threads, extra)
        proba = np.full((len(x), len(run.classes)), np.nan, np.float32)
        if usable.any():
            kept = {k: v[usable] for k, v in extra.items()} if extra else None
            proba[usable] = predict_proba(run, x[usable], batch_size, threads, kept)
    return proba


def output_columns(
    chunk: TableChunk,
    run: TrainedRun,
    plan: InputPlan,
    path: Path,
    proba: np.ndarray,
    best: np.ndarray,
    usable: np.ndarray,
) -> dict[str, pa.Array]:
    """The output's columns up to the probabilities: row number (no id column), the carried input
    columns, predicted class, its probability, the confidence and one probability per class."""
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
        pa.array(best, mask=~usable), pa.array(run.classes)
    )
    columns[PRED_PROB] = pa.array(proba.max(axis=1))  # NaN for rows without features
    # the score metrics.json's coverage curve ranks by (the run's coverage.confidence): keep rows
    # with confidence >= the curve's threshold to cut the catalog at that coverage
    from xnet.evaluation.coverage import run_confidence

    columns[CONFIDENCE] = pa.array(
        np.where(usable, run_confidence(run, proba, np.clip(best, 0, None)), np.nan)
    )
    for k, cls in enumerate(run.classes):
        columns[probability_column(cls)] = pa.array(proba[:, k])
    return columns


def truth_codes(chunk: TableChunk, plan: InputPlan, classes: list[str], path: Path) -> np.ndarray:
    """A labelled chunk's codes of the model's classes, -1 for any other label."""
    return pd.Categorical(
        labels_of(chunk.columns[plan.label], plan.data_cfg.get("label_map"), path, plan.label),
        categories=classes,
    ).codes.astype(np.int64)
