"""Whole commands of this checkout against another checkout of xnet, interleaved (a benchmark).

    git archive main | tar -x -C /tmp/xnet_main
    python benchmarks/against_base.py /tmp/xnet_main [--repeats 5]

Rows: `python -m xnet.train` (the bundled XMM slice) and the Chandra 5-fold CV
(`data=csc_muwclass features=xray_mw cv.folds=5`). The base runs with `PYTHONPATH=<base>/src`, so
both use this venv's packages; each pair alternates its order, both share one fresh data home (the
figure cache) after one untimed run of each, and every run writes into a fresh temporary folder.
Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "train": [],
    "cv": ["data=csc_muwclass", "features=xray_mw", "cv.folds=5"],
}


def run(command: list[str], base: Path | None, home: str) -> float:
    folder = tempfile.mkdtemp(prefix="xnet_bench_")
    env = {**os.environ, "XNET_DATA_HOME": home, "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    if base is not None:
        env["PYTHONPATH"] = str(base / "src")
    args = [sys.executable, "-m", "xnet.train", *command, f"hydra.run.dir={folder}/run"]
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="the other checkout (its src/ and conf/)")
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args()
    home = tempfile.mkdtemp(prefix="xnet_bench_home_")
    variants = {"base": opts.base.resolve(), "this": None}
    times: dict[tuple[str, str], list[float]] = {(c, v): [] for c in COMMANDS for v in variants}
    for command in COMMANDS.values():  # untimed: the figure cache and the OS file cache
        for base in variants.values():
            run(command, base, home)
    for i in range(opts.repeats):
        for name, command in COMMANDS.items():
            for variant in list(variants)[:: 1 if i % 2 == 0 else -1]:
                seconds = run(command, variants[variant], home)
                times[(name, variant)].append(seconds)
                load = os.getloadavg()[0]
                print(f"{i}  {name:5s} {variant:4s} {seconds:7.2f} s  load {load:.1f}", flush=True)
    print(f"\n{'command':8s} {'base':>8s} {'this':>8s} {'ratio':>6s}  (medians)")
    for name in COMMANDS:
        a, b = (statistics.median(times[(name, v)]) for v in variants)
        print(f"{name:8s} {a:8.2f} {b:8.2f} {b / a:6.3f}")
    shutil.rmtree(home)


if __name__ == "__main__":
    main()
