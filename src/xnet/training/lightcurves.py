"""A light-curve run's own results: metrics for test sources with and without a light curve, and
per-class accuracy with and without the light-curve branch.

- `with` / `without` a light curve: the split's test rows divided by `lc_present` (the source has
  a usable light curve, `xnet.data.lightcurves.timing`), each part scored like the whole (accuracy,
  balanced accuracy, macro-F1, per-class recall and support); CV runs add the pooled out-of-fold
  parts and mean and standard deviation over folds.
- `branch`: each network's test predictions again with every source given no light curve at all
  (the encoder's "no light curve" input, the timing features missing): per-class test accuracy
  with the light-curve branch and without it, so what the light curves add to this model shows
  class by class (TensorBoard `lightcurve_branch/...`). The model was trained with light curves
  for ~70 % of its sources, so "without" is its no-light-curve path, not a catalog-only model.
Written to metrics.json under `lightcurves` and logged.
"""

from __future__ import annotations

import logging

import numpy as np

from xnet.data.features import MISSING_SUFFIX
from xnet.data.lightcurves.timing import PRESENT, TIMING_COLUMNS
from xnet.evaluation.metrics import HEADLINE, classification_report
from xnet.models.nets import FEATURES

log = logging.getLogger("xnet.train")

#: the branch ablation's two evaluations: as trained, and every source given "no light curve"
BRANCH = ("with", "without")


def has_lightcurve(data) -> np.ndarray | None:
    """Per labelled row: whether it has a usable light curve (None for a run without them)."""
    if not data.lightcurves or PRESENT not in data.frame:
        return None
    return data.frame[PRESENT].to_numpy(dtype=float) > 0


def branch_input(data) -> str | None:
    return (data.lightcurves or {}).get("input") if data.inputs else None


def without_lightcurves(x: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """Raw feature rows as if no source had a light curve: timing features missing (and their
    missing indicators set), `lc_present` 0."""
    x = np.array(x, dtype=float, copy=True)
    for j, name in enumerate(feature_names):
        if name in TIMING_COLUMNS:
            x[:, j] = np.nan
        elif name.endswith(MISSING_SUFFIX) and name[: -len(MISSING_SUFFIX)] in TIMING_COLUMNS:
            x[:, j] = 1.0
        elif name == PRESENT:
            x[:, j] = 0.0
    return x


def branch_ablation(model, dm, data) -> dict | None:
    """Per-class test recall of `model` as trained, and with every test source given no light
    curve at all (the encoder's "no light curve" input, timing features missing); None when the
    model reads no light curve."""
    name = branch_input(data)
    if name is None or name not in dm.test_inputs or not model.hyper_parameters.get("encoders"):
        return None
    import torch

    from xnet.data.preprocessing import transform

    y = dm.y_test.numpy()
    raw = without_lightcurves(data.x[dm.split.test], data.feature_names)
    blank = {
        **dm.test_inputs,
        FEATURES: torch.as_tensor(transform(dm.scaler, raw)),
        name: torch.zeros_like(dm.test_inputs[name]),
    }
    out: dict = {"balanced_accuracy": {}}
    for key, inputs in (("with", dm.test_inputs), ("without", blank)):
        pred = model.decide(model.predict_proba(inputs).numpy())
        report = classification_report(y, pred, data.classes)
        out[key] = {c: row["recall"] for c, row in report["per_class"].items()}
        out["balanced_accuracy"][key] = report["balanced_accuracy"]
    return out


def log_branch(logger, branch: dict | None, step: int) -> None:
    """A member's per-class test accuracy with and without the branch, to TensorBoard."""
    if logger is None or branch is None:
        return
    values = {f"lightcurve_branch/{k}/acc_{c}": v for k in BRANCH for c, v in branch[k].items()}
    for k in BRANCH:
        values[f"lightcurve_branch/{k}/balanced_accuracy"] = branch["balanced_accuracy"][k]
    logger.log_metrics(values, step=step)


def part_report(y: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    report = classification_report(y, pred, classes)
    return {
        "n_test": int(len(y)),
        **{k: report[k] for k in HEADLINE},
        "recall": {c: row["recall"] for c, row in report["per_class"].items()},
        "support": {c: row["support"] for c, row in report["per_class"].items()},
    }


def parts(y: np.ndarray, pred: np.ndarray, has: np.ndarray, classes: list[str]) -> dict:
    return {
        key: part_report(y[rows], pred[rows], classes) if rows.any() else None
        for key, rows in (("with", has), ("without", ~has))
    }


def split_block(results: list, y_test, pred, data, split) -> dict | None:
    """A split's `lightcurves` block: its test rows with and without a light curve, and the mean
    over its networks (`results`: `xnet.training.results.MemberResult`) of the branch ablation."""
    has = has_lightcurve(data)
    if has is None:
        return None
    block = parts(np.asarray(y_test), np.asarray(pred), has[split.test], data.classes)
    branches = [r.branch for r in results if r.branch]
    if branches:
        block["branch"] = {
            part: {c: float(np.mean([b[part][c] for b in branches])) for c in branches[0][part]}
            for part in (*BRANCH, "balanced_accuracy")
        }
    return block


def _mean_std(values: list[float]) -> dict[str, float]:
    values = np.asarray(values, float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
    }


def run_block(split_results: list, data) -> dict | None:
    """The run's `lightcurves` block (`split_results`: `xnet.training.results.SplitResult`): per
    split as above; for CV, the pooled out-of-fold parts and the mean and standard deviation over
    folds of each part's headline metrics and of the branch ablation's per-class recall. Logged."""
    blocks = [r.block.lightcurves for r in split_results]
    if not blocks or any(b is None for b in blocks):
        return None
    if len(blocks) == 1:
        log_parts(blocks[0], blocks[0].get("branch"))
        return blocks[0]
    y = np.concatenate([r.y_true for r in split_results])
    pred = np.concatenate([r.y_pred for r in split_results])
    test = np.concatenate([r.test_rows for r in split_results])
    out = {"pooled_out_of_fold": parts(y, pred, has_lightcurve(data)[test], data.classes)}
    for key in ("with", "without"):
        present = [b[key] for b in blocks if b[key] is not None]
        if present:
            out[key] = {m: _mean_std([b[m] for b in present]) for m in HEADLINE}
    if all("branch" in b for b in blocks):
        first = blocks[0]["branch"]
        out["branch"] = {
            part: {c: _mean_std([b["branch"][part][c] for b in blocks]) for c in first[part]}
            for part in (*BRANCH, "balanced_accuracy")
        }
    log_parts(out["pooled_out_of_fold"], out.get("branch"), out)
    return out


def _value(v) -> float:
    return v["mean"] if isinstance(v, dict) else v


def log_parts(pooled: dict, branch: dict | None, folds: dict | None = None) -> None:
    """One line per part (with the fold mean and std of CV runs) and one for the branch."""
    for key, title in (("with", "with a light curve"), ("without", "without a light curve")):
        part = pooled.get(key)
        if part is None:
            continue
        line = (
            f"test sources {title} (n={part['n_test']}): accuracy {part['accuracy']:.3f}, "
            f"balanced accuracy {part['balanced_accuracy']:.3f}, macro-F1 {part['macro_f1']:.3f}"
        )
        if folds and folds.get(key):
            ba = folds[key]["balanced_accuracy"]
            line += f" (pooled; per fold balanced accuracy {ba['mean']:.3f} ± {ba['std']:.3f})"
        log.info("%s", line)
    if branch:
        pairs = [(c, branch["with"][c], branch["without"][c]) for c in branch["with"]]
        pairs.append(("balanced accuracy", *(branch["balanced_accuracy"][k] for k in BRANCH)))
        listed = ", ".join(f"{c} {_value(a):.2f}/{_value(b):.2f}" for c, a, b in pairs)
        log.info("light-curve branch, test accuracy with / without it: %s", listed)


def example_figure(job, writer, renderer) -> dict[str, str]:
    """Example light curves per class (`lightcurves_per_class.png`, and TensorBoard's
    `lightcurves/examples_per_class`) for a run with a light-curve input; {} otherwise."""
    name = branch_input(job.data)
    if name is None or name not in job.data.inputs:
        return {}
    from xnet.plotting.lightcurves import lightcurve_examples_figure
    from xnet.plotting.png import add_png

    fig = lightcurve_examples_figure(job.data.inputs[name], job.data.y, job.data.classes)
    path = job.run_dir / "lightcurves_per_class.png"
    then = (
        None
        if writer is None
        else (lambda png: add_png(writer, "lightcurves/examples_per_class", png))
    )
    renderer.submit(fig, path, then=then)
    return {"lightcurves": path.name}


def encoder_settings(cfg) -> list[str]:
    """hparams keys for the encoders' settings (`model.encoders.<name>.<key>`, their class as
    `model.encoders.<name>._target_`) and the light-curve binning, where the run has them."""
    from omegaconf import OmegaConf

    keys = []
    for name, spec in (OmegaConf.select(cfg, "model.encoders") or {}).items():
        keys += [f"model.encoders.{name}.{key}" for key in spec]
    binning = OmegaConf.select(cfg, "data.lightcurves.binning") or {}
    keys += [f"data.lightcurves.binning.{key}" for key in binning]
    return keys


def check_encoder_inputs(cfg, data) -> None:
    """Each `model.encoders` entry reads the extra input of its name: one line where the data
    carries none (no `data.lightcurves`, or its `input` under another name or null)."""
    from omegaconf import OmegaConf

    from xnet.errors import XnetError

    for name in OmegaConf.select(cfg, "model.encoders") or {}:
        if name not in data.inputs:
            carried = ", ".join(data.inputs) or "none"
            raise XnetError(
                f"model.encoders.{name} reads the input '{name}', which the data does not carry "
                f"(extra inputs: {carried}); name light curves in the data config "
                f"(data.lightcurves, with input: {name}) or remove the encoder"
            )
