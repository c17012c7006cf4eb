"""Whole-process speed of `xnet.predict` with and without `explain=K` (a benchmark, not a test).

Writes a slim-schema 4XMM-DR13 FITS of 656,997 rows (each a source of the bundled XMM slice drawn
at random, xnet.testing.mock_catalog) into a temporary folder, trains the default model on the
bundled slice (or takes `--run`), then times whole commands, interpreter start to exit, each
variant once per round and the rounds repeated (interleaved, so that all see the same machine):

- `predict`: `python -m xnet.predict run=... input=... output=out.parquet` (explain off);
- `explain=K`: the same with `explain=K`;
- `baseline` (with `--baseline-src`): the first, run from another checkout's `src` (e.g. the
  commit before explanations: `git archive <commit> src conf | tar -x -C /tmp/base`, then
  `--baseline-src /tmp/base/src`), to show that predict without explain is no slower.

Prints medians of wall and CPU (user + system) seconds, rows/s and peak memory (max RSS of each
command).

    python benchmarks/explain_throughput.py [--repeats 3] [--rows 656997] [--explain 3]
        [--run RUN_DIR] [--baseline-src DIR]
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


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one command, from its own rusage."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or os.environ.copy()
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{child.stderr.read().decode()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def train_default(run: Path, epochs: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xnet.train", f"hydra.run.dir={run}", "logger=none"]
        + [f"trainer.max_epochs={epochs}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr}")


def variants(args, run: Path, path: Path, out: Path) -> dict[str, tuple[list[str], dict]]:
    command = [sys.executable, "-m", "xnet.predict", f"run={run}", f"input={path}"]
    command += [f"output={out}", "overwrite=true", "progress=false"]
    env = os.environ.copy()
    out_variants = {
        "predict": (command, env),
        f"explain={args.explain}": (command + [f"explain={args.explain}"], env),
    }
    if args.baseline_src:
        base_env = {**env, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
        out_variants = {"baseline": (command, base_env), **out_variants}
    return out_variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=656_997)
    parser.add_argument("--explain", type=int, default=3)
    parser.add_argument("--run", help="a finished training run (default: train the default one)")
    parser.add_argument("--baseline-src", help="another checkout's src/ to time as 'baseline'")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of the default run")
    args = parser.parse_args()
    from xnet.testing import mock_catalog

    tmp = Path(tempfile.mkdtemp(prefix="xnet-explain-bench-"))
    try:
        run = Path(args.run) if args.run else tmp / "run"
        if not args.run:
            train_default(run, args.epochs)
        path = tmp / "4xmm_dr13_slim.fits"
        mock_catalog.write_fits(path, mock_catalog.slim_table, args.rows)
        runs = variants(args, run, path, tmp / "out.parquet")
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        memory: dict[str, float] = {name: 0.0 for name in runs}
        for _ in range(args.repeats):
            for name, (command, env) in runs.items():
                seconds, cpu_seconds, rss = timed(command, env)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                memory[name] = max(memory[name], rss)
        print(f"\nxnet.predict whole process, {args.rows:,} rows, medians of {args.repeats}")
        print(f"{'variant':<12} {'s':>7} {'rows/s':>10} {'CPU s':>7} {'peak MB':>8}  runs (s)")
        for name, values in times.items():
            median = statistics.median(values)
            runs_text = " / ".join(f"{v:.2f}" for v in values)
            print(
                f"{name:<12} {median:>7.2f} {args.rows / median:>10,.0f}"
                f" {statistics.median(cpu[name]):>7.2f} {memory[name]:>8.0f}  {runs_text}"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
