"""Training speed of xnet against scikit-learn's MLPClassifier with the study's settings.

Same rows, same preprocessing (imputer + Yeo-Johnson + MinMax fit on each training part; the
baseline fits scikit-learn's PowerTransformer, xnet its own equal-result lambda search), same
number of epochs (early stopping off for both), batch 200, one thread. Three workloads:

1. one fit (the hold-out split);
2. a 5-fold CV: xnet's stacked folds against five sequential MLPClassifier fits;
3. a sweep of 3 widths x 5 folds: xnet's stacked 15 members against 15 sequential fits.

on two data sets: the Chandra set with `xray_mw`, and a 16,000-row set of the study's size built
by resampling the Chandra rows (with replacement, seeded). Run on demand (not a test):

    python benchmarks/fit_speed.py [--epochs 100] [--repeats 3] [--quick]

Prints medians over repeats and the ratio xnet / scikit-learn, all measured in the same run.
Data loading is outside the timings on both sides.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from xnet.config.compose import compose_config
from xnet.data.labelled import LabelledSet, make_splits, prepare_labelled_set
from xnet.data.preprocessing import make_scaler, transform
from xnet.testing.baselines import study_mlp
from xnet.training.datamodule import XrayDataModule
from xnet.training.evaluation import evaluate_member
from xnet.evaluation.metrics import classification_report
from xnet.training.run import quiet_lightning
from xnet.training.stacking import Job, Member, fit_stack, plan_stacks

WIDTHS = (10, 30, 100)
THREADS = "auto"  # set from --threads


def config(epochs: int, hidden: int = 30):
    return compose_config(
        [
            "data=csc_muwclass",
            "features=xray_mw",
            f"model.hidden={hidden}",
            f"trainer.max_epochs={epochs}",
            f"early_stopping.patience={epochs + 1}",
            "logger=none",
            "figures.enabled=false",
            f"model.num_threads={THREADS}",
        ]
    )


def resampled(data: LabelledSet, n: int, seed: int = 0) -> LabelledSet:
    """A larger set of the study's size: rows drawn with replacement (features and labels together)."""
    rows = np.random.default_rng(seed).choice(len(data.y), size=n, replace=True)
    return dataclasses.replace(
        data, x=data.x[rows], y=data.y[rows], frame=data.frame.iloc[rows].reset_index(drop=True)
    )


def time_xnet(
    data: LabelledSet, folds: int, widths: tuple[int, ...], epochs: int
) -> tuple[float, list[float]]:
    """Seconds for xnet to fit every (width, fold) member as one stack; test balanced accuracies."""
    cfgs = [config(epochs, hidden) for hidden in widths]
    splits = list(make_splits(data.y, cfgs[0].split, folds, cfgs[0].seed))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        modules = [XrayDataModule(data, s, cfgs[0].resample, seed=cfgs[0].seed) for s in splits]
        members = []
        for cfg in cfgs:
            job = Job(cfg=cfg, run_dir=Path(tmp) / f"h{cfg.model.hidden}", data=data, splits=splits)
            members += [Member(job=job, split=s, dm=dm) for s, dm in zip(splits, modules)]
        results = []
        for stack in plan_stacks(members):
            module = fit_stack(stack)
            results += [evaluate_member(module, k, member) for k, member in enumerate(stack)]
        elapsed = time.perf_counter() - start
    return elapsed, [r["reports"]["test"]["balanced_accuracy"] for r in results]


def time_sklearn(
    data: LabelledSet, folds: int, widths: tuple[int, ...], epochs: int
) -> tuple[float, list[float]]:
    """Seconds for the same fits one after another with scikit-learn; test balanced accuracies."""
    cfg = config(epochs)
    splits = list(make_splits(data.y, cfg.split, folds, cfg.seed))
    scores = []
    start = time.perf_counter()
    for hidden in widths:
        for s in splits:
            with np.errstate(all="ignore"):
                scaler = make_scaler().fit(
                    data.x[s.train]
                )  # scikit-learn's own PowerTransformer fit
            model = study_mlp(hidden, max_epochs=epochs, early_stopping=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(transform(scaler, data.x[s.train]), data.y[s.train])
            pred = model.predict(transform(scaler, data.x[s.test]))
            scores.append(
                classification_report(data.y[s.test], pred, data.classes)["balanced_accuracy"]
            )
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="Chandra set only, one repeat (a smoke run)"
    )
    parser.add_argument(
        "--threads", default="auto", help="xnet's model.num_threads (auto: all cores for stacks)"
    )
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    quiet_lightning()
    logging.getLogger("xnet").setLevel(logging.WARNING)
    logging.getLogger("__main__").setLevel(logging.WARNING)
    threadpool_limits(
        1
    )  # BLAS for scikit-learn (and the scalers): one thread; torch: model.num_threads
    repeats = 1 if args.quick else args.repeats

    chandra = prepare_labelled_set(config(args.epochs).data, config(args.epochs).features, 10)
    sets = [("chandra xray_mw", chandra)] + (
        [] if args.quick else [("16k resampled", resampled(chandra, 16000))]
    )
    workloads = [("one fit", 0, (30,)), ("5-fold CV", 5, (30,)), ("3 widths x 5 folds", 5, WIDTHS)]

    rows = []
    for set_name, data in sets:
        for name, folds, widths in workloads:
            xnet_t, sk_t = [], []
            for _ in range(repeats):
                t, xnet_scores = time_xnet(data, folds, widths, args.epochs)
                xnet_t.append(t)
                t, sk_scores = time_sklearn(data, folds, widths, args.epochs)
                sk_t.append(t)
            x, s = statistics.median(xnet_t), statistics.median(sk_t)
            rows.append((set_name, name, x, s, x / s, np.mean(xnet_scores), np.mean(sk_scores)))
            print(
                f"  {set_name:16} {name:20} xnet {x:7.2f} s  sklearn {s:7.2f} s  ratio {x / s:5.2f}",
                flush=True,
            )

    print(
        f"\n{args.epochs} epochs, batch 200, median of {repeats} (wall seconds; BA: mean test balanced accuracy); "
        f"scikit-learn 1 BLAS thread, xnet model.num_threads={THREADS} on {os.cpu_count()} cores"
    )
    header = f"{'data':16} {'workload':20} {'xnet s':>8} {'sklearn s':>9} {'ratio':>6} {'xnet BA':>8} {'sk BA':>6}"
    print(header)
    print("-" * len(header))
    for set_name, name, x, s, r, xba, sba in rows:
        print(f"{set_name:16} {name:20} {x:8.2f} {s:9.2f} {r:6.2f} {xba:8.3f} {sba:6.3f}")


if __name__ == "__main__":
    main()
