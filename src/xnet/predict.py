"""`python -m xnet.predict run=<training run dir or .ckpt> input=<catalog> output=<file>`.

Classifies every row of a catalog (the ~1M 4XMM-DR13 sources, or a user's own file) with a trained
run, in chunks: only the needed columns are read (FITS memory-mapped through astropy), features
are built by the same functions as in training, scaled by the checkpoint's fitted scaler and
passed through the network; each chunk is written out before the next is read, so memory stays
bounded whatever the input's size. A CV run predicts with the mean of its fold models'
probabilities. Writes one row per input row: id and position, predicted class and probability, one
probability per class and a `flag` saying why a prediction should not be trusted (xnet.flags).
With a labelled input, also the training metrics block (printed, and metrics.json beside the output).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

import hydra
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import torch
from omegaconf import DictConfig
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from xnet.catalog import TableChunk, TableInfo, iter_table_chunks, label_values, table_info, to_numeric
from xnet.config import CONFIG_DIR
from xnet.errors import XnetError, exit_on_error
from xnet.features import DERIVED, build_features
from xnet.flags import FlagRules, RowFlags, TrainingStats
from xnet.metrics import classification_report
from xnet.preprocessing import transform
from xnet.coverage import run_confidence
from xnet.runs import TrainedRun, load_run, plain_config
from xnet.writers import TableWriter, check_output

log = logging.getLogger(__name__)

#: prediction columns (the input's id, position and label columns come first, under their own names)
PRED_CLASS, PRED_PROB, FLAG, ROW = "pred_class", "pred_prob", "flag", "row"
CONFIDENCE = "confidence"
#: canonical columns read, where the catalog maps them, for the quality flags
FLAG_INPUTS = ("sum_flag", "extent")


def probability_column(cls: str) -> str:
    """`P_<class>` with characters FITS column names cannot hold replaced (LM-STAR -> P_LM_STAR)."""
    return "P_" + re.sub(r"[^0-9A-Za-z_]", "_", cls)


# --- the input catalog ---------------------------------------------------------------------------


@dataclass
class InputPlan:
    """How to read the input with one catalog config: which file columns, for what."""

    name: str
    data_cfg: dict
    canonical: dict[str, str] = field(default_factory=dict)  # canonical -> file column, to read as numbers
    flag_inputs: dict[str, str] = field(default_factory=dict)  # sum_flag/extent -> file column (subset of canonical)
    id: str | None = None
    keep: list[str] = field(default_factory=list)
    ra: str | None = None
    dec: str | None = None
    label: str | None = None
    features: list[str] = field(default_factory=list)  # canonical inputs of the model's features
    problems: list[str] = field(default_factory=list)  # columns the file or the config lacks

    @property
    def carried(self) -> list[str]:
        """File columns copied into the output, in output order."""
        return [c for c in [self.id, *self.keep, self.ra, self.dec, self.label] if c]

    @property
    def feature_columns(self) -> list[str]:
        """File columns the model's features are computed from."""
        return [self.canonical[c] for c in self.features]

    @property
    def read(self) -> list[str]:
        return list(dict.fromkeys([*self.carried, *self.canonical.values()]))


def plan_input(name: str, data_cfg: Mapping, info: TableInfo, run: TrainedRun) -> InputPlan:
    """Map the run's features onto the file's columns through a catalog config; what cannot be
    found goes to `problems` (the file column, and the canonical input it stands for)."""
    plan = InputPlan(name=name, data_cfg=dict(data_cfg))
    mapping = {str(k): str(v) for k, v in dict(data_cfg.get("columns") or {}).items()}
    present = {canon: info.find(col) for canon, col in mapping.items()}
    available = {canon for canon, col in present.items() if col}
    absent = lambda canon: f"'{mapping[canon]}' (for {canon})" if canon in mapping else f"{canon} (not mapped)"  # noqa: E731

    needed: list[str] = []
    for feature in run.features:
        if feature in available:
            needed.append(feature)
            continue
        way = next((needs for needs, _ in DERIVED[feature].ways if set(needs) <= available), None) if feature in DERIVED else None
        if way is not None:
            needed.extend(way)
            continue
        wanted = DERIVED[feature].ways[0][0] if feature in DERIVED else (feature,)
        plan.problems.extend(absent(c) for c in wanted if c not in available)
    plan.features = list(dict.fromkeys(needed))
    for canon in plan.features:
        plan.canonical[canon] = present[canon]
    for canon in FLAG_INPUTS:
        if canon in available:
            plan.canonical[canon] = plan.flag_inputs[canon] = present[canon]

    for key in ("id", "ra", "dec"):
        column = data_cfg.get(key)
        if column:
            found = info.find(str(column))
            setattr(plan, key, found)
            if not found:
                plan.problems.append(f"'{column}' (the {key} column)")
    for column in data_cfg.get("keep_columns") or []:
        found = info.find(str(column))
        if found:
            plan.keep.append(found)
        else:
            plan.problems.append(f"'{column}' (in keep_columns)")
    if data_cfg.get("label"):
        plan.label = info.find(str(data_cfg["label"]))
    plan.problems = list(dict.fromkeys(plan.problems))
    return plan


@contextlib.contextmanager
def _config_search_path() -> Iterator[None]:
    """Hydra's config search path: the running app's (with any --config-dir), else conf/."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        yield
    else:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            yield


def data_config_names() -> list[str]:
    from hydra.core.global_hydra import GlobalHydra

    with _config_search_path():
        return sorted(GlobalHydra.instance().config_loader().get_group_options("data"))


def compose_data_config(name: str) -> dict:
    """conf/data/<name>.yaml (or one in --config-dir), with its defaults merged."""
    from hydra import compose

    with _config_search_path():
        try:
            cfg = compose(config_name=None, overrides=[f"+data={name}"])
        except Exception as err:  # Hydra's MissingConfigException, ConfigCompositionException, ...
            known = data_config_names()
            if name not in known:
                raise XnetError(f"catalog={name}: no such data config; available: {', '.join(known)}") from None
            raise XnetError(f"catalog={name}: data config cannot be composed ({str(err).splitlines()[0]})") from None
    return plain_config(cfg.data)


def could_fit(name: str, info: TableInfo, run: TrainedRun) -> bool:
    """A quick look at conf/data/<name>.yaml (or --config-dir's) before composing it with Hydra
    (tens of milliseconds each): False only for a self-contained YAML whose own columns do not fit."""
    import yaml
    from hydra.core.global_hydra import GlobalHydra

    with _config_search_path():
        sources = GlobalHydra.instance().config_loader().get_sources()
    files = [Path(src.path) / "data" / f"{name}.yaml" for src in sources if src.scheme() == "file"]
    path = next((f for f in files if f.is_file()), None)
    if path is None:
        return True
    try:
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return True  # composing it gives the real error
    if not isinstance(raw, dict) or raw.get("defaults"):
        return True
    described = {k: raw.get(k) for k in ("columns", "id", "ra", "dec", "keep_columns")}
    return "${" in str(described) or not plan_input(name, raw, info, run).problems


def resolve_catalog(choice: str | None, info: TableInfo, run: TrainedRun) -> InputPlan:
    """The catalog config describing the input: `catalog=` if given; else the run's own catalog if
    the input has its columns; else the first data config (by name) whose columns it has."""
    if choice:
        plan = plan_input(str(choice), compose_data_config(str(choice)), info, run)
        if plan.problems:
            raise _missing_columns_error(info, plan)
        return plan
    own_cfg = run.data_cfg
    if own_cfg is None:
        with contextlib.suppress(XnetError):
            own_cfg = compose_data_config(run.catalog)
    own = plan_input(run.catalog, own_cfg, info, run) if own_cfg is not None else None
    if own is not None and not own.problems:
        return own
    for name in data_config_names():
        if name == run.catalog or not could_fit(name, info, run):
            continue
        try:
            plan = plan_input(name, compose_data_config(name), info, run)
        except XnetError:  # a broken YAML among the user's must not hide the others
            continue
        if not plan.problems:
            log.info(
                "catalog: the input has the columns of data config '%s' (not those of the run's '%s'); "
                "pass catalog=<name> to choose another", name, run.catalog,
            )
            return plan
    if own is None:
        raise XnetError(
            f"{info.path}: no data config describes its columns and the run's catalog '{run.catalog}' "
            f"is not in the config path; pass catalog=<name> (a data YAML in conf/data/ or your --config-dir)"
        )
    raise _missing_columns_error(info, own, searched=True)


def _missing_columns_error(info: TableInfo, plan: InputPlan, searched: bool = False) -> XnetError:
    also = "; no other data config fits either" if searched else ""
    return XnetError(
        f"{info.path}: the model's inputs need column {', '.join(plan.problems)}, not in the file "
        f"(catalog config '{plan.name}'{also}); pass catalog=<name> with a data config that maps "
        f"the input's columns (conf/data/ or your --config-dir)"
    )


# --- one chunk -------------------------------------------------------------------------------


def _as_series(values: np.ndarray, rows: np.ndarray, path: Path, column: str) -> pd.Series:
    if values.ndim != 1:
        raise XnetError(f"{path}: column '{column}' holds arrays of shape {values.shape[1:]}, not single values; map a scalar column")
    if values.dtype.kind == "S":  # FITS text: decoded only when a number was expected (for the message)
        values = np.char.decode(values, "utf-8", "replace").astype(object)
    return pd.Series(values, index=rows, copy=False)


def canonical_frame(chunk: TableChunk, plan: InputPlan, path: Path) -> pd.DataFrame:
    """The chunk's mapped columns as floats under canonical names (row numbers as index)."""
    out = {}
    for canon, column in plan.canonical.items():
        series = _as_series(chunk.columns[column], chunk.rows, path, column)
        try:
            out[canon] = to_numeric(series, path=path, column=column, canonical=canon).to_numpy(dtype=float)
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


def labels_of(values: np.ndarray) -> np.ndarray:
    """Class labels as stripped strings (None where missing), from FITS bytes or CSV text too."""
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", "replace")
    return label_values(pd.Series(values))


def scale(scaler: Pipeline, x: np.ndarray) -> np.ndarray:
    """`transform(scaler, x)`, with the median imputation done as one vectorised fill (same values):
    scikit-learn's imputer is the slowest step of the scaler at a million rows."""
    name, impute = scaler.steps[0]
    if name == "impute" and isinstance(impute, SimpleImputer) and not np.isnan(impute.statistics_).any():
        return transform(scaler[1:], np.where(np.isnan(x), impute.statistics_, x))
    return transform(scaler, x)


def predict_proba(run: TrainedRun, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Mean over the run's models of the class probabilities of raw (unscaled) feature rows."""
    total = np.zeros((len(x), len(run.classes)), np.float32)
    for member in run.members:
        scaled = torch.from_numpy(scale(member.scaler, x))
        for start in range(0, len(x), batch_size):
            total[start : start + batch_size] += member.model.predict_proba(scaled[start : start + batch_size]).numpy()
    if len(run.members) > 1:
        total /= len(run.members)
    return total


@dataclass
class Tally:
    """What the chunks add up to: row counts, classes, flags and (labelled input) true/predicted codes."""

    rows: int = 0
    usable: int = 0
    per_class: np.ndarray | None = None
    flag_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    y_true: list[np.ndarray] = field(default_factory=list)
    y_pred: list[np.ndarray] = field(default_factory=list)

    def add_flags(self, codes: np.ndarray, size: int) -> None:
        counts = np.bincount(codes, minlength=size)
        grown = np.zeros(size, np.int64)
        grown[: len(self.flag_counts)] = self.flag_counts
        self.flag_counts = grown + counts


def predict_chunk(
    chunk: TableChunk, run: TrainedRun, plan: InputPlan, flags: RowFlags, path: Path, batch_size: int, tally: Tally
) -> pa.RecordBatch:
    """Features, probabilities and flags of one chunk, as the output rows."""
    frame = canonical_frame(chunk, plan, path)
    spec = run.spec
    features = build_features(frame, spec)
    x = features.to_numpy(dtype=float)
    x_raw = x[:, : len(spec.features)]
    sum_flag = frame["sum_flag"].to_numpy() if "sum_flag" in plan.flag_inputs else None
    extent = frame["extent"].to_numpy() if "extent" in plan.flag_inputs else None
    codes, usable = flags(x_raw, sum_flag, extent)
    n, classes = len(x), run.classes
    if usable.all():
        proba = predict_proba(run, x, batch_size)
    else:
        proba = np.full((n, len(classes)), np.nan, np.float32)
        if usable.any():
            proba[usable] = predict_proba(run, x[usable], batch_size)
    best = run.decide(proba).astype(np.int16)
    best[~usable] = -1

    columns: dict[str, pa.Array] = {}
    if plan.id is None:
        columns[ROW] = pa.array(chunk.rows.astype(np.int64))
    for column in plan.carried:
        if column in (plan.ra, plan.dec):  # as numbers, whatever the file's type
            series = _as_series(chunk.columns[column], chunk.rows, path, column)
            columns[column] = pa.array(to_numeric(series, path=path, column=column, canonical=column).to_numpy(dtype=float))
        else:
            columns[column] = to_arrow(chunk.columns[column])
    columns[PRED_CLASS] = pa.DictionaryArray.from_arrays(pa.array(best, mask=~usable), pa.array(classes))
    columns[PRED_PROB] = pa.array(proba.max(axis=1))  # NaN for rows without features
    # hook (xnet.coverage): the score metrics.json's coverage curve ranks by (the run's
    # coverage.confidence); keep rows with confidence >= the curve's threshold to cut at that coverage
    columns[CONFIDENCE] = pa.array(np.where(usable, run_confidence(run, proba, np.clip(best, 0, None)), np.nan))
    for k, cls in enumerate(classes):
        columns[probability_column(cls)] = pa.array(proba[:, k])
    columns[FLAG] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(flags.vocabulary))

    tally.rows += n
    tally.usable += int(usable.sum())
    counts = np.bincount(best[usable], minlength=len(classes))
    tally.per_class = counts if tally.per_class is None else tally.per_class + counts
    tally.add_flags(codes, len(flags.vocabulary))
    if plan.label:
        truth = labels_of(chunk.columns[plan.label])
        tally.y_true.append(pd.Categorical(truth, categories=classes).codes.astype(np.int64))  # -1: not a model class
        tally.y_pred.append(best.astype(np.int64))
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


# --- the whole input -------------------------------------------------------------------------


def _check_names(plan: InputPlan, classes: list[str]) -> None:
    ours = [PRED_CLASS, PRED_PROB, CONFIDENCE, FLAG, *(probability_column(c) for c in classes)] + ([ROW] if plan.id is None else [])
    clash = sorted({c for c in plan.carried if c.lower() in {o.lower() for o in ours}})
    if clash:
        raise XnetError(
            f"input column {', '.join(map(repr, clash))} (id/position/label in catalog config '{plan.name}') "
            f"has the name of a prediction column; rename it in the file"
        )


def progress_bar(setting, total: int | None):
    from tqdm import tqdm

    disable = {"auto": None, True: False, False: True}.get(setting, None)
    return tqdm(total=total, unit=" rows", unit_scale=True, disable=disable, desc="xnet.predict", dynamic_ncols=True)


def predict(cfg: DictConfig | Mapping) -> dict:
    """Classify `cfg.input` with `cfg.run` into `cfg.output`; returns a summary (and the metrics
    block for a labelled input)."""
    started = time.perf_counter()
    for key, hint in (("run", "a training run directory or .ckpt file"), ("input", "the catalog to classify"), ("output", "a .parquet, .csv or .fits file")):
        if not cfg.get(key):
            raise XnetError(f"{key}= is required: pass {key}=<{hint}>")
    overwrite = bool(cfg.get("overwrite", False))
    output = check_output(cfg["output"], overwrite)
    info = table_info(cfg["input"])
    run = load_run(cfg["run"])
    plan = resolve_catalog(cfg.get("catalog"), info, run)
    _check_names(plan, run.classes)
    metrics_path = output.parent / "metrics.json" if plan.label else None
    if metrics_path is not None and metrics_path.exists() and not overwrite:
        raise XnetError(f"{metrics_path} exists (labelled input: metrics go beside the output); pass overwrite=true to replace it")
    torch.set_num_threads(int(cfg.get("num_threads", 1)))
    stats = TrainingStats.from_states([m.state for m in run.members], run.features)
    if stats is None:
        log.warning("run %s: checkpoint has no training feature statistics; 'missing' and 'out_of_range' flags are off", run.source)
    flags = RowFlags(run.features, stats, FlagRules.from_config(cfg.get("flags") or {}))
    for canon in FLAG_INPUTS:
        if canon not in plan.flag_inputs:
            log.info("catalog '%s' maps no '%s' column: no %s flag", plan.name, canon, "poor_quality" if canon == "sum_flag" else "extended")
    log.info(
        "%s: %s rows, catalog config '%s'; model: %d classes, %d features (%s)",
        info.path, f"{info.n_rows:,}" if info.n_rows is not None else "?", plan.name, len(run.classes), len(run.features), ", ".join(run.features),
    )
    tally = Tally()
    chunk_rows, batch_size = int(cfg.get("chunk_size", 100_000)), int(cfg.get("batch_size", 8192))
    text = [c for c in plan.carried if c not in (plan.ra, plan.dec)]
    with TableWriter(output, overwrite) as writer, progress_bar(cfg.get("progress", "auto"), info.n_rows) as bar:
        for chunk in iter_table_chunks(info, plan.read, chunk_rows, text=text):
            writer.write(predict_chunk(chunk, run, plan, flags, info.path, batch_size, tally))
            bar.update(len(chunk.rows))
        if tally.rows == 0:
            raise XnetError(f"{info.path}: holds no data rows")
        if tally.usable == 0:
            raise XnetError(
                f"{info.path}: every model feature ({', '.join(run.features)}) is missing in all {tally.rows:,} rows; "
                f"check the columns mapped in catalog config '{plan.name}' (file columns: {', '.join(plan.feature_columns)})"
            )
        metrics = labelled_metrics(tally, run, plan, info, output) if plan.label else None
    summary = summarize(tally, run, flags, plan, output, time.perf_counter() - started)
    if metrics is not None:
        report_metrics(metrics, metrics_path)
        summary["metrics"] = metrics
    return summary


def summarize(tally: Tally, run: TrainedRun, flags: RowFlags, plan: InputPlan, output: Path, seconds: float) -> dict:
    """Counts per predicted class and per flag reason, logged and returned."""
    reasons: dict[str, int] = {}
    for text, count in zip(flags.vocabulary, tally.flag_counts):
        for reason in filter(None, text.split(";")):
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + int(count)
    per_class = {c: int(n) for c, n in zip(run.classes, tally.per_class)}
    log.info(
        "wrote %s rows to %s in %.1f s (%s rows/s); predicted: %s; flagged: %s",
        f"{tally.rows:,}", output, seconds, f"{tally.rows / max(seconds, 1e-9):,.0f}",
        ", ".join(f"{c} {n:,}" for c, n in per_class.items()),
        ", ".join(f"{r} {n:,}" for r, n in reasons.items()) or "none",
    )
    return {
        "output": str(output), "catalog": plan.name, "rows": tally.rows, "predicted": per_class,
        "flags": reasons, "no_prediction": tally.rows - tally.usable, "seconds": seconds,
    }


def labelled_metrics(tally: Tally, run: TrainedRun, plan: InputPlan, info: TableInfo, output: Path) -> dict | None:
    """Training's metrics block on the labelled rows whose class the model knows and that got a
    prediction (None, with a warning, when there are none)."""
    y_true, y_pred = np.concatenate(tally.y_true), np.concatenate(tally.y_pred)
    known, predicted = y_true >= 0, y_pred >= 0
    scored = known & predicted
    if not scored.any():
        log.warning(
            "%s: no row of label column '%s' holds one of the model's classes (%s) with usable features; no metrics",
            info.path, plan.label, ", ".join(run.classes),
        )
        return None
    return {
        "dataset": plan.name,
        "input": str(info.path),
        "output": str(output),
        "run": str(run.source),
        "checkpoints": [str(m.path) for m in run.members],
        "features": run.spec.name,
        "feature_names": list(run.state["feature_names"]),
        "classes": run.classes,
        "n_rows": int(tally.rows),
        "n_test": int(scored.sum()),
        "n_label_not_a_model_class": int((~known).sum()),
        "n_no_prediction": int((known & ~predicted).sum()),
        **classification_report(y_true[scored], y_pred[scored], run.classes),
    }


def report_metrics(metrics: dict, path: Path) -> None:
    """Print the metrics block and write it (atomically) to `path`."""
    from xnet.train import write_json  # (training's own writer; imported late, it pulls in plotting)

    log.info(
        "metrics on %d labelled rows (left out: %d with a class the model does not know, %d without usable features): "
        "accuracy %.3f, balanced accuracy %.3f, macro-F1 %.3f",
        metrics["n_test"], metrics["n_label_not_a_model_class"], metrics["n_no_prediction"],
        metrics["accuracy"], metrics["balanced_accuracy"], metrics["macro_f1"],
    )
    for cls, row in metrics["per_class"].items():
        log.info("  %-10s precision %.3f  recall %.3f  f1 %.3f  support %d", cls, row["precision"], row["recall"], row["f1"], row["support"])
    write_json(path, metrics)
    log.info("metrics written to %s", path)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def _hydra_main(cfg: DictConfig) -> None:
    exit_on_error(lambda: predict(cfg))


def main() -> None:
    _hydra_main()


if __name__ == "__main__":
    main()
