"""Does the light-curve branch help on the simulated demo? Four models, the same data and folds.

The demo's catalog (conf/data/lightcurve_demo.yaml, 3,000 simulated sources, 70 % with an
XMM-style light curve) is SIMULATED so that light curves carry class information the catalog
lacks: this measures that the machinery uses it, not what real light curves would add.

- catalog only: the study's MLP on HR1-HR4, flux and extent (`features=xray`, no encoder);
- + timing features: the same with lc_fvar, lc_ls_power, lc_ls_log_period, lc_flares;
- + LightCurveCNN: catalog features and the CNN over the binned light curve, no timing features;
- the demo: catalog + timing features + LightCurveCNN (`experiment=lightcurve_demo`).
Each is `python -m xnet.train experiment=lightcurve_demo <changes> seed=S` (5-fold CV), for each
seed; the table gives the mean over seeds of each run's 5-fold mean, and the standard deviation
over seeds, plus the pooled out-of-fold balanced accuracy of the test sources with and without a
light curve.

    python benchmarks/lightcurve_demo.py [--seeds 1 2 3] [--out outputs/lightcurve_demo]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

MODELS = {
    "catalog only": ["features=xray", "~model.encoders.lightcurve", "data.lightcurves.input=null"],
    "+ timing features": ["~model.encoders.lightcurve", "data.lightcurves.input=null"],
    "+ LightCurveCNN": ["features=xray"],
    "+ timing + LightCurveCNN (demo)": [],
}
RECALL = ("AGN", "CV", "NS", "LMXB", "YSO")


def run(name: str, changes: list[str], seed: int, out: Path) -> dict:
    run_dir = out / name.replace(" ", "_").replace("+", "plus").replace("(", "").replace(")", "")
    run_dir = run_dir / f"seed{seed}"
    if not (run_dir / "metrics.json").exists():
        command = [
            sys.executable,
            "-m",
            "xnet.train",
            "experiment=lightcurve_demo",
            *changes,
            f"seed={seed}",
            f"hydra.run.dir={run_dir}",
            "overwrite=true",
            "progress=false",
        ]
        print(" ".join(command[1:]), flush=True)
        subprocess.run(command, check=True, capture_output=True)
    return json.loads((run_dir / "metrics.json").read_text())


def cell(values: list[float]) -> str:
    values = np.asarray(values, float)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {spread:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path("outputs/lightcurve_demo"))
    args = parser.parse_args()
    results = {
        name: [run(name, changes, s, args.out) for s in args.seeds]
        for name, changes in MODELS.items()
    }
    head = ["model", "balanced accuracy", "accuracy", "macro-F1"]
    head += [f"recall {c}" for c in RECALL] + ["BA with a light curve", "BA without"]
    print(f"\nseeds {args.seeds}: mean over seeds of the 5-fold CV mean ± std over seeds")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, runs in results.items():
        row = [name, cell([r["mean"]["balanced_accuracy"] for r in runs])]
        row += [cell([r["mean"][k] for r in runs]) for k in ("accuracy", "macro_f1")]
        row += [cell([r["mean"]["recall"][c] for r in runs]) for c in RECALL]
        for part in ("with", "without"):
            pooled = [r["lightcurves"]["pooled_out_of_fold"][part] for r in runs]
            row.append(cell([p["balanced_accuracy"] for p in pooled]))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
