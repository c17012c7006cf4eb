"""Training speed of xnet against scikit-learn's MLPClassifier with the study's settings.

Same rows, same preprocessing (imputer + Yeo-Johnson + MinMax fit on each training part; the
baseline fits scikit-learn's PowerTransformer, xnet its own equal-result lambda search), the same
number of epochs on both sides (early stopping off; the epochs each side ran are printed: xnet's
per member from the fit, scikit-learn's `n_iter_`), batch 200, data loading outside the timings.

`workloads` (default): one fit, a 5-fold CV (xnet's stacked folds against five sequential
MLPClassifier fits) and a 3-width x 5-fold sweep (15 stacked members against 15 fits), on the
bundled Chandra set (`xray_mw`) and on a 16,000-source file of distinct sources
(`xnet.testing.distinct_sources`: the bundled set resampled with replacement, every value redrawn
within its error or by 3 %, unique ids).

`scaling`: how the time per member-epoch grows with the members per stack (1, 5, 15, 50 networks
on the 16,000-source file: 5 folds x seeds) and with the rows (4,000 to 160,000 sources, a 5-fold
stack), against scikit-learn's time per epoch on the same training rows.

    python benchmarks/fit_speed.py [--epochs 100] [--repeats 3] [--only workloads,scaling]

Prints medians over repeats (the two sides interleaved) and the ratio xnet / scikit-learn.
"""

from __future__ import annotations

import argparse
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
from xnet.data.labelled import LabelledSet, prepare_labelled_set
from xnet.data.preprocessing import make_scaler, transform
from xnet.data.splits import make_splits
from xnet.evaluation.metrics import classification_report
from xnet.testing.baselines import study_mlp
from xnet.testing.distinct_sources import write_distinct_sources
from xnet.training.datamodule import XrayDataModule
from xnet.training.evaluation import evaluate_member
from xnet.training.run import quiet_lightning
from xnet.training.stacking import Job, Member, fit_stack, plan_stacks

WIDTHS = (10, 30, 100)
THREADS = "auto"  # set from --threads


def config(epochs: int, hidden: int = 30, path: Path | None = None):
    return compose_config(
        [
            "data=csc_muwclass",
            *([f"data.path={path}"] if path else []),
            "features=xray_mw",
            f"model.hidden={hidden}",
            f"trainer.max_epochs={epochs}",
            f"early_stopping.patience={epochs + 1}",
            "logger=none",
            "figures.enabled=false",
            "progress=false",
            f"model.num_threads={THREADS}",
        ]
    )


def time_xnet(data: LabelledSet, folds: int, widths, epochs: int, seeds=(1,)) -> dict:
    """Seconds for xnet to fit every (width, fold, seed) member (stacked as `plan_stacks` plans),
    the member-epochs it ran and the test balanced accuracies."""
    cfgs = [config(epochs, hidden) for hidden in widths]
    splits = list(make_splits(data.y, cfgs[0].split, folds, cfgs[0].seed))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        modules = [XrayDataModule(data, s, cfgs[0].resample, seed=cfgs[0].seed) for s in splits]
        members = []
        for cfg in cfgs:
            job = Job(cfg=cfg, run_dir=Path(tmp) / f"h{cfg.model.hidden}", data=data, splits=splits)
            members += [
                Member(job=job, split=s, dm=dm, seed=seed)
                for seed in seeds
                for s, dm in zip(splits, modules)
            ]
        results, member_epochs, fit_s = [], 0, 0.0
        for stack in plan_stacks(members):
            for member in stack:
                member.dm.setup("fit")  # scaler and training set: outside the fit's time
            fit_start = time.perf_counter()
            module = fit_stack(stack)
            fit_s += time.perf_counter() - fit_start
            member_epochs += int((module.stop_epoch + 1).sum())
            results += [evaluate_member(module, k, member) for k, member in enumerate(stack)]
        elapsed = time.perf_counter() - start
    scores = [r.reports["test"]["balanced_accuracy"] for r in results]
    return {"s": elapsed, "fit_s": fit_s, "member_epochs": member_epochs, "ba": scores}


def time_sklearn(data: LabelledSet, folds: int, widths, epochs: int, seeds=(1,)) -> dict:
    """Seconds for the same fits one after another with scikit-learn, the epochs they ran
    (`n_iter_`) and the test balanced accuracies."""
    cfg = config(epochs)
    splits = list(make_splits(data.y, cfg.split, folds, cfg.seed))
    scores, member_epochs, fit_s = [], 0, 0.0
    start = time.perf_counter()
    for hidden in widths:
        for seed in seeds:
            for s in splits:
                with np.errstate(all="ignore"):
                    scaler = make_scaler().fit(data.x[s.train])  # scikit-learn's own fit
                model = study_mlp(hidden, seed=seed, max_epochs=epochs, early_stopping=False)
                x_train = transform(scaler, data.x[s.train])
                fit_start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(x_train, data.y[s.train])
                fit_s += time.perf_counter() - fit_start
                member_epochs += int(model.n_iter_)
                pred = model.predict(transform(scaler, data.x[s.test]))
                report = classification_report(data.y[s.test], pred, data.classes)
                scores.append(report["balanced_accuracy"])
    elapsed = time.perf_counter() - start
    return {"s": elapsed, "fit_s": fit_s, "member_epochs": member_epochs, "ba": scores}


def compare(data, folds, widths, epochs, repeats, seeds=(1,)) -> dict:
    """Both sides, interleaved `repeats` times: medians of the whole workload's seconds, the
    epochs run and the fit's milliseconds per member-epoch (the fit alone: xnet's stacked fit,
    scikit-learn's `fit`)."""
    runs = {"xnet": [], "sklearn": []}
    for _ in range(repeats):
        runs["xnet"].append(time_xnet(data, folds, widths, epochs, seeds))
        runs["sklearn"].append(time_sklearn(data, folds, widths, epochs, seeds))
    out = {}
    for side, rs in runs.items():
        out[side] = {
            "s": statistics.median(r["s"] for r in rs),
            "spread": (min(r["s"] for r in rs), max(r["s"] for r in rs)),
            "member_epochs": rs[-1]["member_epochs"],
            "ms": statistics.median(1e3 * r["fit_s"] / r["member_epochs"] for r in rs),
            "ba": float(np.mean(rs[-1]["ba"])),
        }
    return out


def distinct_set(rows: int, epochs: int, folder: Path) -> LabelledSet:
    path = write_distinct_sources(folder / f"distinct_{rows}.csv", rows)
    cfg = config(epochs, path=path)
    return prepare_labelled_set(cfg.data, cfg.features, 10)


def workloads(args, folder: Path) -> None:
    chandra = prepare_labelled_set(config(args.epochs).data, config(args.epochs).features, 10)
    sets = [("Chandra, xray_mw", chandra), ("16k distinct", distinct_set(16_000, 1, folder))]
    jobs = [("one fit", 0, (30,)), ("5-fold CV", 5, (30,)), ("3 widths x 5 folds", 5, WIDTHS)]
    print(f"\n{args.epochs} epochs on both sides, batch 200, medians of {args.repeats}\n")
    print(
        "| data | workload | xnet s | scikit-learn s | ratio | member-epochs xnet / sklearn "
        "| ms per member-epoch xnet / sklearn | BA xnet / sklearn |"
    )
    print("|---" * 8 + "|")
    for set_name, data in sets:
        for name, folds, widths in jobs:
            r = compare(data, folds, widths, args.epochs, args.repeats)
            x, s = r["xnet"], r["sklearn"]
            print(
                f"| {set_name} | {name} | {x['s']:.2f} | {s['s']:.2f} | {x['s'] / s['s']:.2f} | "
                f"{x['member_epochs']} / {s['member_epochs']} | {x['ms']:.2f} / {s['ms']:.2f} | "
                f"{x['ba']:.3f} / {s['ba']:.3f} |",
                flush=True,
            )


def scaling(args, folder: Path) -> None:
    epochs = max(5, args.epochs // 5)
    data = distinct_set(16_000, epochs, folder)
    print(f"\nMembers per stack (16,000 distinct sources, 30-30, {epochs} epochs; scikit-learn:")
    print("the same fits one after another), medians of", args.repeats, "\n")
    print(
        "| members | folds x seeds | xnet s | ms per member-epoch xnet | sklearn s | ms per epoch "
        "sklearn | ratio per member-epoch |\n" + "|---" * 7 + "|"
    )
    for folds, n_seeds in ((0, 1), (5, 1), (5, 3), (5, 10)):
        seeds = tuple(range(1, n_seeds + 1))
        r = compare(data, folds, (30,), epochs, args.repeats, seeds)
        x, s = r["xnet"], r["sklearn"]
        members = max(folds, 1) * n_seeds
        print(
            f"| {members} | {max(folds, 1)} x {n_seeds} | {x['s']:.2f} | {x['ms']:.2f} | "
            f"{s['s']:.2f} | {s['ms']:.2f} | {x['ms'] / s['ms']:.2f} |",
            flush=True,
        )
    print(f"\nRows (a 5-fold stack, 30-30, {epochs} epochs), medians of {args.repeats}\n")
    print(
        "| sources | xnet s | ms per member-epoch xnet | sklearn s | ms per epoch sklearn "
        "| ratio |\n" + "|---" * 6 + "|"
    )
    for rows in args.rows:
        r = compare(distinct_set(rows, epochs, folder), 5, (30,), epochs, args.repeats)
        x, s = r["xnet"], r["sklearn"]
        print(
            f"| {rows:,} | {x['s']:.2f} | {x['ms']:.2f} | {s['s']:.2f} | {s['ms']:.2f} | "
            f"{x['ms'] / s['ms']:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="workloads,scaling")
    parser.add_argument("--rows", type=int, nargs="+", default=[4_000, 16_000, 64_000, 160_000])
    parser.add_argument(
        "--threads", default="auto", help="xnet's model.num_threads (auto: the idle cores)"
    )
    args = parser.parse_args()
    global THREADS
    THREADS = args.threads
    quiet_lightning()
    logging.getLogger("xnet").setLevel(logging.WARNING)
    threadpool_limits(1)  # BLAS for scikit-learn (and the scalers): one thread
    with tempfile.TemporaryDirectory(prefix="xnet-fit-speed-") as tmp:
        if "workloads" in args.only:
            workloads(args, Path(tmp))
        if "scaling" in args.only:
            scaling(args, Path(tmp))
    print(
        f"\nscikit-learn: 1 BLAS thread; xnet: model.num_threads={THREADS}; {os.cpu_count()} "
        f"cores, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
