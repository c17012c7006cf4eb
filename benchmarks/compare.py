"""xnet against the classifiers an astronomer would otherwise use, on the same data and folds.

Every model sees the same seeded splits (`xnet.data.shifted.splits_for`, the call `xnet.train`
makes):
the test part is never used for fitting, scaling, resampling or early stopping. xnet rows run the
real `xnet.train.train`; baselines are fitted on the split's whole training part (scikit-learn's
MLP keeps its own 10 % for early stopping, as xnet does). Each row runs 3 seeds x 5 folds, plus the
two shifted splits (train bright / test the faintest 20 %, and leave-sky-region-out). On demand:

    python benchmarks/compare.py                      # both catalogs, xray / xray_mw / xray_mw_plus
    python benchmarks/compare.py --data csc_muwclass --features xray_mw_plus --seeds 1 2 3
    # smoke run: 2 folds, 2 seeds, few epochs
    python benchmarks/compare.py --tiny --out /tmp/compare.md

Prints one table per (catalog, feature set) and writes them as Markdown (default
benchmarks/results/comparison.md) with the package versions used.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from threadpoolctl import threadpool_limits

from xnet.config.compose import compose_config
from xnet.data.labelled import LabelledSet, prepare_labelled_set
from xnet.data.preprocessing import fit_scaler, transform
from xnet.data.shifted import splits_for
from xnet.data.splits import Split
from xnet.evaluation.metrics import HEADLINE, classification_report, summarize_folds
from xnet.testing.baselines import study_mlp

RESULTS = Path(__file__).resolve().parent / "results" / "comparison.md"

#: published MUWCLASS leave-one-out result on the 2,941 Chandra sources (Yang et al. 2022; data
#: README)
MUWCLASS = {
    "accuracy": 0.886,
    "balanced_accuracy": 0.702,
    "macro_f1": 0.681,
    "recall": {
        "AGN": 0.925,
        "CV": 0.545,
        "HM-STAR": 0.720,
        "HMXB": 0.692,
        "LM-STAR": 0.860,
        "LMXB": 0.262,
        "NS": 0.678,
        "YSO": 0.935,
    },
}

#: xnet configurations compared: label -> Hydra overrides (data, features, folds and seed are added)
XNET_CONFIGS = {
    "xnet, study settings (30-30 MLP, no resampling)": [],
    "xnet, study settings + SMOTE/undersampling (500 per class)": ["resample=smote_under"],
    "xnet, best networks only (csc_best without its tree member)": [
        "experiment=csc_best",
        "ensemble.trees=0",
    ],
    "xnet, best (experiment=csc_best: 10 networks + tree member, prior-adjusted decision)": [
        "experiment=csc_best"
    ],
}


@dataclass
class Row:
    model: str
    mean: dict
    std: dict
    seconds: float | None
    note: str = ""
    folds: list = field(default_factory=list)
    seed_std: dict = field(default_factory=dict)  # std over the seeds' fold means
    shifted: dict = field(
        default_factory=dict
    )  # scheme -> mean metrics (faint: one split; sky: K folds)


# ---------------------------------------------------------- baselines (fit on the training part)


def fit_sklearn_mlp(x_train, y_train, x_test, seed: int, tiny: bool) -> np.ndarray:
    """The study's pipeline: xnet's scaler (Yeo-Johnson + min-max, fit on training rows), then the
    MLP."""
    scaler = fit_scaler(x_train)
    model = study_mlp(seed=seed, max_epochs=5 if tiny else 600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(transform(scaler, x_train), y_train)
    return model.predict(transform(scaler, x_test))


def fit_lightgbm(x_train, y_train, x_test, seed: int, tiny: bool) -> np.ndarray:
    """LightGBM with balanced class weights, otherwise defaults (it handles NaN and needs no
    scaling)."""
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(
        class_weight="balanced",
        n_estimators=5 if tiny else 100,
        random_state=seed,
        n_jobs=1,
        verbose=-1,
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


SCHEMES = (
    "stratified",
    "faint",
    "sky",
)  # the random folds, then the two shifted splits (xnet.shifted)


@dataclass
class Fit:
    """One model on one catalog and feature set: its per-split reports for one seed and scheme."""

    blocks: list
    seconds: float


def baseline_fit(
    name: str, fit: Callable, data: LabelledSet, splits: list[Split], seed: int, tiny: bool
) -> Fit:
    start = time.perf_counter()
    blocks = []
    for s in splits:
        train = np.sort(np.concatenate([s.train, s.val]))  # the split's whole training part
        pred = fit(data.x[train], data.y[train], data.x[s.test], seed, tiny)
        blocks.append(classification_report(data.y[s.test], pred, data.classes))
    return Fit(blocks, time.perf_counter() - start)


# ------------------------------------------------------ xnet (the real training entry point)


def xnet_fit(overrides: list[str], base: list[str], tiny: bool) -> Fit:
    from xnet.training import train

    extra = ["trainer.max_epochs=3", "early_stopping.patience=2"] if tiny else []
    cfg = compose_config([*overrides, *base, "logger=none", "figures.enabled=false", *extra])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        payload = train(cfg, run_dir)
    return Fit(payload.get("folds") or [payload], time.perf_counter() - start)


def make_row(label: str, note: str, by_seed: list[Fit], shifted: dict[str, Fit]) -> Row:
    """Mean and std over all folds of all seeds, the std of the seed means, and the shifted
    splits."""
    blocks = [b for f in by_seed for b in f.blocks]
    mean, std = summarize_folds(blocks)
    seed_means = [summarize_folds(f.blocks)[0] for f in by_seed]
    seed_std = {
        k: float(np.std([m[k] for m in seed_means], ddof=1)) if len(seed_means) > 1 else 0.0
        for k in HEADLINE
    }
    mean["per_seed"] = [{k: m[k] for k in HEADLINE} for m in seed_means]
    shifted_means = {scheme: summarize_folds(f.blocks)[0] for scheme, f in shifted.items()}
    seconds = float(np.mean([f.seconds for f in by_seed]))
    return Row(
        label, mean, std, seconds, note, folds=blocks, seed_std=seed_std, shifted=shifted_means
    )


def fmt(mean: float, std: float | None) -> str:
    return f"{mean:.3f}" if std is None else f"{mean:.3f} ± {std:.3f}"


def shifted_cells(r: Row) -> list[str]:
    """faint-20 % and sky-out columns: accuracy / balanced accuracy / macro-F1."""
    return [
        ""
        if scheme not in r.shifted
        else " / ".join(f"{r.shifted[scheme][k]:.3f}" for k in HEADLINE)
        for scheme in SCHEMES[1:]
    ]


def markdown_table(title: str, classes: list[str], rows: list[Row]) -> str:
    head = [
        "model",
        "accuracy",
        "balanced accuracy",
        "macro-F1",
        *[f"recall {c}" for c in classes],
        "seed std (acc / bal.acc / F1)",
        "faint 20 % (acc / bal.acc / F1)",
        "sky-out (acc / bal.acc / F1)",
        "wall s per seed",
    ]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.model + (f" {r.note}" if r.note else "")]
        cells += [fmt(r.mean[k], r.std.get(k) if r.std else None) for k in HEADLINE]
        cells += [
            f"{r.mean['recall'][c]:.2f}" if c in r.mean.get("recall", {}) else "" for c in classes
        ]
        cells.append(" / ".join(f"{r.seed_std[k]:.3f}" for k in HEADLINE) if r.seed_std else "")
        cells += shifted_cells(r)
        cells.append(f"{r.seconds:.1f}" if r.seconds is not None else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    seeded = [r for r in rows if len(r.mean.get("per_seed", [])) > 1]
    if seeded:
        lines += ["", "Each seed's fold means (accuracy / balanced accuracy / macro-F1):", ""]
        lines += [
            f"- {r.model}: "
            + "; ".join(" / ".join(f"{m[k]:.3f}" for k in HEADLINE) for m in r.mean["per_seed"])
            for r in seeded
        ]
    return "\n".join(lines)


def plain_table(classes: list[str], rows: list[Row]) -> str:
    width = max(len(r.model) for r in rows)
    out = [
        f"{'model':{width}}  {'acc':>13} {'bal.acc':>13} {'macro-F1':>13}  seed-std bal.acc  faint "
        "bal.acc  sky bal.acc  wall s"
    ]
    for r in rows:
        cells = [fmt(r.mean[k], r.std.get(k) if r.std else None).rjust(13) for k in HEADLINE]
        seed = f"{r.seed_std['balanced_accuracy']:16.3f}" if r.seed_std else " " * 16
        shifted = [
            f"{r.shifted[s]['balanced_accuracy']:.3f}" if s in r.shifted else ""
            for s in SCHEMES[1:]
        ]
        wall = f"{r.seconds:6.1f}" if r.seconds is not None else "   n/a"
        out.append(
            f"{r.model:{width}}  {' '.join(cells)}  {seed}  {shifted[0]:>13}  {shifted[1]:>11}  "
            f"{wall}"
        )
    return "\n".join(out)


def compare(
    data_name: str,
    features: str,
    folds: int,
    seeds: list[int],
    models: list[str],
    tiny: bool,
    shifted: bool,
) -> tuple[list[str], list[Row]]:
    base = [f"data={data_name}", f"features={features}", f"cv.folds={folds}"]
    cfg = compose_config(base)
    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    schemes = SCHEMES if shifted else SCHEMES[:1]
    runs = [
        (scheme, seed)
        for scheme in schemes
        for seed in (seeds if scheme == "stratified" else seeds[:1])
    ]
    splits = {
        (scheme, seed): splits_for(data, {**cfg.cv, "scheme": scheme}, cfg.split, seed)
        for scheme, seed in runs
    }
    rows = []

    def row(label: str, note: str, fit_one: Callable[[str, int], Fit]) -> None:
        fits = {key: fit_one(*key) for key in runs}
        rows.append(
            make_row(
                label,
                note,
                [fits["stratified", s] for s in seeds],
                {scheme: fits[scheme, seeds[0]] for scheme in schemes[1:]},
            )
        )
        print(
            f"  {data_name}/{features}: {label} done ({rows[-1].seconds:.0f} s per seed)",
            flush=True,
        )

    if "xnet" in models:
        for label, overrides in XNET_CONFIGS.items():
            note = f"`{' '.join(overrides)}`" if overrides else ""
            row(
                label,
                note,
                lambda scheme, seed, o=overrides: xnet_fit(
                    o, [*base, f"seed={seed}", f"cv.scheme={scheme}"], tiny
                ),
            )
    for name, fit in BASELINES.items():
        if any(key in name.lower() for key in models):
            row(
                name,
                "",
                lambda scheme, seed, f=fit, n=name: baseline_fit(
                    n, f, data, splits[scheme, seed], seed, tiny
                ),
            )
    if data_name == "csc_muwclass" and features == "xray_mw":
        rows.append(
            Row(
                "MUWCLASS (published, leave-one-out, its own X-ray + MW features)",
                MUWCLASS,
                {},
                None,
            )
        )
    return data.classes, rows


def versions() -> str:
    """The package versions the numbers were produced with."""
    from importlib.metadata import PackageNotFoundError, version

    out = [f"python {platform.python_version()}"]
    for package in (
        "torch",
        "lightning",
        "scikit-learn",
        "numpy",
        "pandas",
        "lightgbm",
        "imbalanced-learn",
        "scipy",
    ):
        try:
            out.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            out.append(f"{package} (not installed)")
    return ", ".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["csc_muwclass", "xmm_lin2024"])
    parser.add_argument("--features", nargs="+", default=["xray", "xray_mw", "xray_mw_plus"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument(
        "--no-shifted",
        dest="shifted",
        action="store_false",
        help="skip the faint and sky-out splits",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["xnet", "scikit-learn", "lightgbm", "random forest"],
        help="which rows: xnet, scikit-learn, lightgbm, random forest",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="smoke run: 2 folds, 2 seeds, 3 epochs, 5 trees"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    folds = 2 if args.tiny else args.folds
    seeds = args.seeds[:2] if args.tiny else args.seeds
    models = [m.lower() for m in args.models]

    logging.basicConfig(
        level=logging.ERROR
    )  # the small-class warning repeats per run; README explains it
    torch.set_num_threads(1)
    sections = []
    with threadpool_limits(1):
        for data_name in args.data:
            for features in args.features:
                classes, rows = compare(
                    data_name, features, folds, seeds, models, args.tiny, args.shifted
                )
                title = (
                    f"{data_name}, features={features}, {folds}-fold CV, "
                    f"seeds {', '.join(map(str, seeds))}"
                )
                print(f"\n{title}\n{plain_table(classes, rows)}\n", flush=True)
                sections.append(markdown_table(title, classes, rows))
    command = "python benchmarks/compare.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "# xnet against the baselines (measured)",
        "",
        f"Command: `{command.strip()}` on {platform.machine()}, 1 thread.",
        f"Versions: {versions()}.",
        "",
        "Every model sees the same seeded stratified folds (`xnet.data.shifted.splits_for`, as "
        "`xnet.train`) for each of",
        f"the seeds {', '.join(map(str, seeds))} (the seed sets the folds and the model's own "
        "randomness). Accuracy,",
        "balanced accuracy and macro-F1: mean ± std over all folds of all seeds; recall: mean per "
        "class;",
        "seed std: the std of the seeds' fold means. Shifted splits (seed "
        f"{seeds[0]}; `cv.scheme`, `xnet.data.shifted`): *faint 20 %* trains on the brighter "
        "sources and tests",
        "on the faintest 20 % by broad-band flux; *sky-out* is 5-fold CV with galactic 30-degree "
        "cells kept whole",
        "(leave-sky-region-out). Wall time: one seed's folds (xnet: the `xnet.train.train` call).",
    ]
    if "csc_muwclass" in args.data and "xray_mw" in args.features:
        header.append(
            "MUWCLASS is the published leave-one-out result on the same 2,941 sources (Yang et al. "
            "2022), not rerun."
        )
    header.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + "\n\n".join(sections) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
