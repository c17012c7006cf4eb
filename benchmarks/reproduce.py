"""The README's headline numbers, rerun: measured with their seed and CPU-kernel spread, or checked.

Floats differ across CPUs (AVX-512, AVX2 and plain kernels round differently), and a network's
training amplifies a last-bit difference into a different stopping epoch, so a headline number is
a band, not a point. This script runs each headline command as a user would (a whole
`python -m xnet.train` process) for several seeds and torch CPU kernels (`ATEN_CPU_CAPABILITY`:
native = what this CPU picks, avx2, default = no vector kernels), then:

    python benchmarks/reproduce.py measure [--seeds 1 2 3] [--kernels native avx2 default]
        prints every value and the band (min-max over seeds x kernels) and writes them to
        benchmarks/results/headline.json, with the CPU, torch version and commit they ran on;
    python benchmarks/reproduce.py check [--seeds 1] [--kernels native]
        reruns the commands here and says, number by number, whether each falls inside the band
        stated in headline.json ("reproduces" means inside it). Exit status 1 if any falls outside.

    --only default,csc_cv,csc_best,csc_cv_sequential   a subset of the commands
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "headline.json"
METRICS = ("accuracy", "balanced_accuracy", "macro_f1")

#: name -> (what the README calls it, the overrides of `python -m xnet.train`)
COMMANDS = {
    "default": ("python -m xnet.train (XMM slice, 80/20)", []),
    "csc_cv": (
        "python -m xnet.train data=csc_muwclass features=xray_mw cv.folds=5",
        ["data=csc_muwclass", "features=xray_mw", "cv.folds=5"],
    ),
    "csc_best": (
        "python -m xnet.train experiment=csc_best cv.folds=5",
        ["experiment=csc_best", "cv.folds=5"],
    ),
    "csc_cv_sequential": (
        "... data=csc_muwclass features=xray_mw cv.folds=5 batching.enabled=false",
        ["data=csc_muwclass", "features=xray_mw", "cv.folds=5", "batching.enabled=false"],
    ),
}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(overrides: list[str], seed: int, kernel: str, home: Path) -> dict:
    """One whole `python -m xnet.train` process; its headline numbers (CV: the fold means)."""
    env = {**os.environ, "XNET_DATA_HOME": str(home), "MPLBACKEND": "Agg"}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if kernel != "native":
        env["ATEN_CPU_CAPABILITY"] = kernel
    with tempfile.TemporaryDirectory(prefix="xnet-reproduce-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "xnet.train",
            *overrides,
            f"seed={seed}",
            f"hydra.run.dir={tmp}/run",
            "progress=false",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
        metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
    source = metrics.get("mean", metrics)
    epochs = [f["epochs"] for f in metrics.get("folds", [metrics])]
    cal = source.get("calibration", {})
    calibration = {  # test ECE of the final probabilities before / after temperature scaling
        k: round(float(cal[k]), 4) if isinstance(cal[k], float) else cal[k]
        for k in (
            "ece_test_before",
            "ece_test_after",
            "ece_noise",
            "nll_test_before",
            "nll_test_after",
            "networks_tempered",
            "networks",
        )
        if k in cal
    }
    return {
        **{k: round(float(source[k]), 4) for k in METRICS},
        "epochs": epochs,
        "calibration": calibration,
    }


def torch_kernel(kernel: str) -> str:
    """What torch reports for a kernel setting (native: this CPU's own)."""
    env = {**os.environ}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if kernel != "native":
        env["ATEN_CPU_CAPABILITY"] = kernel
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    ).stdout.strip()


def measure(names: list[str], seeds: list[int], kernels: list[str]) -> dict:
    import torch

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    out = {
        "cpu": cpu_name(),
        "kernels": {k: torch_kernel(k) for k in kernels},
        "torch": torch.__version__,
        "commit": commit,
        "seeds": seeds,
        "commands": {},
    }
    with tempfile.TemporaryDirectory(prefix="xnet-home-") as home:
        for name in names:
            label, overrides = COMMANDS[name]
            runs = {}
            for seed in seeds:
                for kernel in kernels:
                    runs[f"{seed}/{kernel}"] = run(overrides, seed, kernel, Path(home))
                    print(f"{name} seed {seed} {kernel}: {runs[f'{seed}/{kernel}']}", flush=True)
            out["commands"][name] = {"command": label, "runs": runs, **bands(runs, seeds, kernels)}
    return out


def bands(runs: dict, seeds: list[int], kernels: list[str]) -> dict:
    """Per metric: the native mean and std over seeds, the largest spread across kernels of one
    seed, and the band (min-max over every seed and kernel)."""
    out = {}
    for key in METRICS:
        grid = np.array([[runs[f"{s}/{k}"][key] for k in kernels] for s in seeds])
        native = grid[:, 0]
        out[key] = {
            "mean": round(float(native.mean()), 4),
            "seed_std": round(float(native.std(ddof=1)), 4) if len(seeds) > 1 else 0.0,
            "kernel_spread": round(float((grid.max(1) - grid.min(1)).max()), 4),
            "band": [round(float(grid.min()), 4), round(float(grid.max()), 4)],
        }
    return out


def print_table(result: dict) -> None:
    print(
        f"\nCPU: {result['cpu']}; torch {result['torch']}; kernels {result['kernels']}; "
        f"commit {result['commit']}; seeds {result['seeds']}\n"
    )
    print("| command | metric | mean (native, over seeds) | seed std | kernel spread | band |")
    print("|---|---|---|---|---|---|")
    for block in result["commands"].values():
        for key in METRICS:
            b = block[key]
            print(
                f"| `{block['command']}` | {key} | {b['mean']:.3f} | {b['seed_std']:.3f} | "
                f"{b['kernel_spread']:.3f} | {b['band'][0]:.3f}-{b['band'][1]:.3f} |"
            )


def print_calibration(result: dict) -> None:
    """Per command: mean test ECE and NLL before / after temperature scaling over every run."""
    print(
        "\n| command | test ECE before | after | ECE noise level | test NLL before | after | "
        "networks tempered |"
    )
    print("|---|---|---|---|---|---|---|")
    for block in result["commands"].values():
        cals = [r["calibration"] for r in block["runs"].values() if r.get("calibration")]
        if not cals:
            continue
        mean = {k: np.mean([c[k] for c in cals]) for k in cals[0] if k != "networks"}
        tempered = sum(c["networks_tempered"] for c in cals)
        print(
            f"| `{block['command']}` | {mean['ece_test_before']:.4f} | "
            f"{mean['ece_test_after']:.4f} | {mean['ece_noise']:.4f} | "
            f"{mean['nll_test_before']:.4f} | {mean['nll_test_after']:.4f} | "
            f"{tempered} of {sum(c['networks'] for c in cals)} |"
        )


def check(names: list[str], seeds: list[int], kernels: list[str]) -> int:
    if not RESULTS.exists():
        raise SystemExit(
            f"{RESULTS} is missing: run `python benchmarks/reproduce.py measure` first"
        )
    stated = json.loads(RESULTS.read_text())
    print(f"stated bands: {stated['cpu']}, commit {stated['commit']}; here: {cpu_name()}")
    outside = 0
    with tempfile.TemporaryDirectory(prefix="xnet-home-") as home:
        for name in names:
            if name not in stated["commands"]:
                print(f"{name}: no stated band in {RESULTS.name}; skipped")
                continue
            block = stated["commands"][name]
            for seed in seeds:
                for kernel in kernels:
                    got = run(COMMANDS[name][1], seed, kernel, Path(home))
                    for key in METRICS:
                        low, high = block[key]["band"]
                        inside = low - 5e-4 <= got[key] <= high + 5e-4
                        outside += not inside
                        print(
                            f"{name:18s} seed {seed} {kernel:8s} {key:18s} {got[key]:.3f} "
                            f"band {low:.3f}-{high:.3f}: {'inside' if inside else 'OUTSIDE'}"
                        )
    print("every number inside its band" if not outside else f"{outside} number(s) outside")
    return 1 if outside else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("measure", "check"))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--kernels", nargs="+")
    parser.add_argument("--only", default=",".join(COMMANDS))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(COMMANDS)
    if unknown:
        raise SystemExit(f"--only: unknown command(s) {sorted(unknown)}; known: {list(COMMANDS)}")
    if args.action == "measure":
        result = measure(
            names, args.seeds or [1, 2, 3], args.kernels or ["native", "avx2", "default"]
        )
        RESULTS.write_text(json.dumps(result, indent=1) + "\n")
        print_table(result)
        print_calibration(result)
        print(f"\nwritten: {RESULTS.relative_to(REPO)}")
    else:
        sys.exit(check(names, args.seeds or [1], args.kernels or ["native"]))


if __name__ == "__main__":
    main()
