"""What each idea gains or loses on the Chandra set, judged on inner validation only.

Every row is `python -m xnet.train <overrides> cv.folds=5 seed=S` on top of `experiment=csc_best`'s
starting recipe (given by --base). The columns used for choosing are the *inner validation* ones:
the ensemble's out-of-bag predictions on the outer training parts (`xnet.inner_validation`),
averaged over the 5 outer folds. The outer test-fold columns are printed for the record only and
are never used to choose. Runs go to --runs (one directory per row and seed; a finished run is
reused), the table to --out:

    python benchmarks/ablations.py --seeds 1 --out benchmarks/results/ablations.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1")

#: label -> overrides on top of the base recipe
ROWS = {
    "base recipe": [],
    "decision.prior_power=0.3": ["decision.prior_power=0.3"],
    "decision.prior_power=0.7": ["decision.prior_power=0.7"],
    "measurement-error resampling, 3 copies": ["resample.error_copies=3"],
    "class-weighted loss, prior_power=0": ["model.class_weighted=true", "decision.prior_power=0"],
    "SMOTE to 500 per class": ["resample=smote"],
    "20 networks": ["ensemble.members=20"],
    "wider: hidden=60": ["model.hidden=60"],
    "deeper: depth=3": ["model.depth=3"],
    "features=xray_mw": ["features=xray_mw"],
    "Adam with common betas: beta1=0.9, beta2=0.999, lr=0.003": [
        "model.beta1=0.9",
        "model.beta2=0.999",
        "model.lr=0.003",
    ],
    "wider with dropout: hidden=100, dropout=0.2": ["model.hidden=100", "model.dropout=0.2"],
    "stronger L2: l2_alpha=1e-3": ["model.l2_alpha=1e-3"],
    "measurement-error resampling, 1 copy at half the errors": [
        "resample.error_copies=1",
        "resample.error_scale=0.5",
    ],
    "reddened-AGN oversampling, 1 copy": ["resample.reddened_agn_copies=1"],
    "networks only: ensemble.trees=0": ["ensemble.trees=0"],
    "tree blend weight 0.3": ["ensemble.trees=0.3"],
    "tree blend weight 0.7, prior_power=0.6": ["ensemble.trees=0.7", "decision.prior_power=0.6"],
}


def run(
    label: str, overrides: list[str], base: list[str], seed: int, runs: Path, scheme: str
) -> dict:
    slug = "".join(ch if ch.isalnum() else "_" for ch in label)[:60] + f"_{scheme}_s{seed}"
    run_dir = runs / slug
    metrics = run_dir / "metrics.json"
    if not metrics.exists():
        cmd = [
            sys.executable,
            "-m",
            "xnet.train",
            *base,
            *overrides,
            f"seed={seed}",
            f"cv.scheme={scheme}",
            "figures.enabled=false",
            "logger=none",
            f"hydra.run.dir={run_dir}",
        ]
        subprocess.run(
            cmd,
            check=True,
            cwd=ROOT,
            env={**os.environ, "MPLBACKEND": "Agg"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return json.loads(metrics.read_text())


def outer(payload: dict, key: str) -> float:
    return float(payload.get("mean", payload)[key])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", nargs="+", default=["experiment=csc_best", "cv.folds=5"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1])
    parser.add_argument("--rows", nargs="*", default=None, help="row labels to run (default: all)")
    parser.add_argument(
        "--shifted",
        action="store_true",
        help="also run the faint and sky shifted splits (outer test only)",
    )
    parser.add_argument("--runs", type=Path, default=Path("outputs/ablations"))
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "ablations.md"
    )
    args = parser.parse_args(argv)
    rows = {k: v for k, v in ROWS.items() if args.rows is None or k in args.rows}
    head = [
        "idea (overrides)",
        "inner acc",
        "inner bal.acc",
        "inner macro-F1",
        "test acc",
        "test bal.acc",
        "test macro-F1",
        "test bal.acc @81 %",
    ]
    if args.shifted:
        head += ["faint-20 % bal.acc", "faint-20 % macro-F1", "sky-out bal.acc", "sky-out macro-F1"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    measures = [
        "| idea | inner @81 %, probability (acc / bal.acc / F1) | inner @81 %, decision (acc / "
        "bal.acc / F1) |",
        "|---|---|---|",
    ]
    for label, overrides in rows.items():
        payloads = [
            run(label, overrides, args.base, s, args.runs, "stratified") for s in args.seeds
        ]
        inner = [p["inner_validation"] for p in payloads]
        cells = [f"{label} `{' '.join(overrides)}`" if overrides else label]
        cells += [f"{np.mean([i[k] for i in inner]):.3f}" for k in HEADLINE]
        cells += [f"{np.mean([outer(p, k) for p in payloads]):.3f}" for k in HEADLINE]
        at_op = [p["coverage"]["operating_point"]["balanced_accuracy"] for p in payloads]
        cells.append(f"{np.mean(at_op):.3f} ({payloads[0]['coverage']['confidence']})")
        if args.shifted:
            for scheme in ("faint", "sky"):
                shifted = [
                    run(label, overrides, args.base, s, args.runs, scheme) for s in args.seeds
                ]
                cells += [
                    f"{np.mean([outer(p, k) for p in shifted]):.3f}"
                    for k in ("balanced_accuracy", "macro_f1")
                ]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
        at_81 = [i["at_81"] for i in inner if "at_81" in i]
        if at_81:
            measures.append(
                f"| {label} | "
                + " | ".join(
                    " / ".join(f"{np.mean([a[kind][k] for a in at_81]):.3f}" for k in HEADLINE)
                    for kind in ("probability", "decision")
                )
                + " |"
            )
    command = "python benchmarks/ablations.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    text = [
        "# Ablations on the Chandra set (csc_muwclass), measured",
        "",
        f"Command: `{command.strip()}`; each row is `python -m xnet.train {' '.join(args.base)} "
        "<overrides> "
        f"seed=S` for seeds {', '.join(map(str, args.seeds))} (mean over seeds).",
        "**Inner** columns (used to choose): out-of-bag predictions of the ensemble's networks on "
        "the outer",
        "training parts (`xnet.inner_validation`), mean over the 5 outer folds. **Test** columns: "
        "the outer",
        "test folds, shown for the record and never used to choose. `@81 %`: balanced accuracy of "
        "the 81 %",
        "most confident test sources (pooled out-of-fold, `xnet.coverage`), ranked by the "
        "confidence measure",
        "named in brackets (`coverage.confidence` when the row ran).",
        "",
        *lines,
        "",
        "Confidence measure for selective classification (`coverage.confidence`), chosen on the "
        "same inner",
        "validation: metrics of the 81 % most confident out-of-bag predictions, per measure "
        "(`xnet.coverage`).",
        "",
        *measures,
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
