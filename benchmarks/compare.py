"""xnet against the classifiers an astronomer would otherwise use, on the same data and folds.

Every model sees the same seeded stratified K folds (`xnet.data.labelled.make_splits`, seed 1): the
test fold is never used for fitting, scaling, resampling or early stopping. xnet rows run the
real `xnet.train.train`; baselines are fitted on the fold's whole training part (scikit-learn's
MLP keeps its own 10 % for early stopping, as xnet does). Run on demand (not a test):

    python benchmarks/compare.py                      # both catalogs, xray / xray_mw / xray_mw_plus
    python benchmarks/compare.py --data csc_muwclass --features xray_mw
    python benchmarks/compare.py --tiny --out /tmp/compare.md   # smoke run: 2 folds, few epochs

Prints one table per (catalog, feature set) and writes them as Markdown (default
benchmarks/results/comparison.md): accuracy, balanced accuracy and macro-F1 as mean ± std over
folds, per-class recall (fold mean) and wall time for all folds.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from omegaconf import DictConfig
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from threadpoolctl import threadpool_limits

from xnet.testing.baselines import study_mlp
from xnet.config import CONFIG_DIR, compose_config
from xnet.data.labelled import LabelledSet, Split, make_splits, prepare_labelled_set
from xnet.training.metrics import HEADLINE, classification_report, summarize_folds
from xnet.data.preprocessing import fit_scaler, transform

RESULTS = Path(__file__).resolve().parent / "results" / "comparison.md"

#: published MUWCLASS leave-one-out result on the 2,941 Chandra sources (Yang et al. 2022; data README)
MUWCLASS = {
    "accuracy": 0.886,
    "balanced_accuracy": 0.702,
    "macro_f1": 0.681,
    "recall": {"AGN": 0.925, "CV": 0.545, "HM-STAR": 0.720, "HMXB": 0.692, "LM-STAR": 0.860, "LMXB": 0.262, "NS": 0.678, "YSO": 0.935},
}

#: xnet configurations compared: label -> Hydra overrides (data, features, folds and seed are added)
XNET_CONFIGS = {
    "xnet, study settings (30-30 MLP, no resampling)": [],
    "xnet, study settings + SMOTE/undersampling (500 per class)": ["resample=smote_under"],
    "xnet, best (experiment=csc_best: 10-network ensemble, prior-adjusted decision)": ["experiment=csc_best"],
}


@dataclass
class Row:
    model: str
    mean: dict
    std: dict
    seconds: float | None
    note: str = ""
    folds: list = field(default_factory=list)


# ---------------------------------------------------------------- baselines (fit on the training part)

def fit_sklearn_mlp(x_train, y_train, x_test, seed: int, tiny: bool) -> np.ndarray:
    """The study's pipeline: xnet's scaler (Yeo-Johnson + min-max, fit on training rows), then the MLP."""
    scaler = fit_scaler(x_train)
    model = study_mlp(seed=seed, max_epochs=5 if tiny else 600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(transform(scaler, x_train), y_train)
    return model.predict(transform(scaler, x_test))


def fit_lightgbm(x_train, y_train, x_test, seed: int, tiny: bool) -> np.ndarray:
    """LightGBM with balanced class weights, otherwise defaults (it handles NaN and needs no scaling)."""
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(
        class_weight="balanced", n_estimators=5 if tiny else 100, random_state=seed, n_jobs=1, verbose=-1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.fit(x_train, y_train)
        return model.predict(x_test)


def fit_random_forest(x_train, y_train, x_test, seed: int, tiny: bool) -> np.ndarray:
    """A 500-tree random forest on median-imputed features (imputer fit on training rows)."""
    imputer = SimpleImputer(strategy="median", keep_empty_features=True).fit(x_train)
    model = RandomForestClassifier(n_estimators=5 if tiny else 500, random_state=seed, n_jobs=1)
    model.fit(imputer.transform(x_train), y_train)
    return model.predict(imputer.transform(x_test))


BASELINES: dict[str, Callable] = {
    "scikit-learn MLPClassifier, study settings": fit_sklearn_mlp,
    "LightGBM (balanced class weights)": fit_lightgbm,
    "random forest (500 trees)": fit_random_forest,
}


def run_baseline(name: str, fit: Callable, data: LabelledSet, splits: list[Split], seed: int, tiny: bool) -> Row:
    start = time.perf_counter()
    blocks = []
    for s in splits:
        train = np.sort(np.concatenate([s.train, s.val]))  # the fold's whole training part
        pred = fit(data.x[train], data.y[train], data.x[s.test], seed, tiny)
        blocks.append(classification_report(data.y[s.test], pred, data.classes))
    mean, std = summarize_folds(blocks)
    return Row(name, mean, std, time.perf_counter() - start, folds=blocks)


# ---------------------------------------------------------------- xnet (the real training entry point)

def run_xnet(label: str, overrides: list[str], base: list[str], tiny: bool) -> Row:
    from xnet.training import train

    extra = ["trainer.max_epochs=3", "early_stopping.patience=2"] if tiny else []
    cfg = compose_config([*overrides, *base, "logger=none", "figures.enabled=false", *extra])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        payload = train(cfg, run_dir)
    seconds = time.perf_counter() - start
    note = f"`{' '.join(overrides)}`" if overrides else ""
    return Row(label, payload["mean"], payload["std"], seconds, note, folds=payload["folds"])


def fmt(mean: float, std: float | None) -> str:
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def markdown_table(title: str, classes: list[str], rows: list[Row]) -> str:
    head = ["model", "accuracy", "balanced accuracy", "macro-F1", *[f"recall {c}" for c in classes], "wall s"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.model + (f" {r.note}" if r.note else "")]
        cells += [fmt(r.mean[k], r.std.get(k) if r.std else None) for k in HEADLINE]
        cells += [f"{r.mean['recall'][c]:.2f}" if c in r.mean.get("recall", {}) else "" for c in classes]
        cells.append(f"{r.seconds:.1f}" if r.seconds is not None else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plain_table(classes: list[str], rows: list[Row]) -> str:
    width = max(len(r.model) for r in rows)
    out = [f"{'model':{width}}  {'acc':>13} {'bal.acc':>13} {'macro-F1':>13}  " + " ".join(f"{c[:7]:>7}" for c in classes) + "  wall s"]
    for r in rows:
        cells = [fmt(r.mean[k], r.std.get(k) if r.std else None).rjust(13) for k in HEADLINE]
        recall = " ".join(f"{r.mean['recall'].get(c, float('nan')):7.2f}" for c in classes)
        wall = f"{r.seconds:6.1f}" if r.seconds is not None else "   n/a"
        out.append(f"{r.model:{width}}  {' '.join(cells)}  {recall}  {wall}")
    return "\n".join(out)


def compare(data_name: str, features: str, folds: int, seed: int, models: list[str], tiny: bool) -> tuple[list[str], list[Row]]:
    base = [f"data={data_name}", f"features={features}", f"cv.folds={folds}", f"seed={seed}"]
    cfg = compose_config(base)
    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    splits = list(make_splits(data.y, cfg.split, folds, seed))  # the same call xnet.train makes
    rows = []
    for label, overrides in XNET_CONFIGS.items():
        if "xnet" in models:
            rows.append(run_xnet(label, overrides, base, tiny))
            print(f"  {data_name}/{features}: {label} done ({rows[-1].seconds:.0f} s)", flush=True)
    for name, fit in BASELINES.items():
        if any(key in name.lower() for key in models):
            rows.append(run_baseline(name, fit, data, splits, seed, tiny))
            print(f"  {data_name}/{features}: {name} done ({rows[-1].seconds:.0f} s)", flush=True)
    if data_name == "csc_muwclass" and features == "xray_mw":
        rows.append(Row("MUWCLASS (published, leave-one-out, its own X-ray + MW features)", MUWCLASS, {}, None))
    return data.classes, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["csc_muwclass", "xmm_lin2024"])
    parser.add_argument("--features", nargs="+", default=["xray", "xray_mw", "xray_mw_plus"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=["xnet", "scikit-learn", "lightgbm", "random forest"],
                        help="which rows: xnet, scikit-learn, lightgbm, random forest")
    parser.add_argument("--tiny", action="store_true", help="smoke run: 2 folds, 3 epochs, 5 trees")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    folds = 2 if args.tiny else args.folds
    models = [m.lower() for m in args.models]

    logging.basicConfig(level=logging.ERROR)  # the small-class warning repeats per run; README explains it
    torch.set_num_threads(1)
    sections, tables = [], []
    with threadpool_limits(1):
        for data_name in args.data:
            for features in args.features:
                classes, rows = compare(data_name, features, folds, args.seed, models, args.tiny)
                title = f"{data_name}, features={features}, {folds}-fold CV (seed {args.seed})"
                print(f"\n{title}\n{plain_table(classes, rows)}\n", flush=True)
                sections.append(markdown_table(title, classes, rows))
                tables.append(rows)
    command = "python benchmarks/compare.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "# xnet against the baselines (measured)",
        "",
        f"Command: `{command.strip()}` on {platform.machine()}, 1 thread, torch {torch.__version__}.",
        "Same seeded stratified folds for every model (`xnet.data.labelled.make_splits`); mean ± std over folds;",
        "recall is the fold mean per class; wall time covers all folds (xnet: the `xnet.train.train` call).",
    ]
    if any(r.model.startswith("MUWCLASS") for rows in tables for r in rows):
        header.append("MUWCLASS is the published leave-one-out result on the same 2,941 sources (Yang et al. 2022), not rerun.")
    header.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + "\n\n".join(sections) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
