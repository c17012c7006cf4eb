"""Memory and time per epoch of the light-curve model against the catalog-only model.

Each configuration trains a 5-fold CV stack (the demo's setting: five members, one per fold) in a
fresh Python process, so that its peak memory is its own:
- catalog-only: the study's 30-30 MLP on the `xray` features of a simulated catalog;
- joint: the same plus `LightCurveCNN` (the demo's encoder) over a (2, bins) input per source.
Sources: 3,000 and 30,000, bins 256 (`--sizes`, `--bins`). The light-curve inputs are in-memory
arrays shaped like binned light curves (`xnet.testing.lightcurves.masked_sequences`: 70 % of the
sources have one, with a gap), not read from files: reading 30,000 FITS files would dominate and
is not training. Early stopping is off; `--epochs` epochs are run and the time per epoch is the
median over epochs after the first. Memory: the process's peak resident set (ru_maxrss), and its
growth during the fit (peak minus the resident set before it).

    python benchmarks/lightcurves.py [--sizes 3000 30000] [--bins 256] [--epochs 6] [--repeats 2]

Configurations run interleaved (catalog-only, joint, catalog-only, joint, ...) and the table gives
medians over repeats, all from the same invocation.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENCODER = (
    "+model.encoders.lightcurve={_target_:xnet.models.encoders.LightCurveCNN,"
    "channels:16,kernel_size:5,layers:2,pool:4}"
)


def catalog(n: int, folder: Path) -> Path:
    import numpy as np

    from xnet.testing.lightcurves.catalog import catalog_rows, draw_classes

    rng = np.random.default_rng(0)
    frame = catalog_rows(draw_classes(n, rng), rng)
    frame.insert(0, "name", [f"s{i}" for i in range(n)])
    path = folder / f"catalog_{n}.csv"
    frame.to_csv(path, index=False)
    return path


def overrides(path: Path, joint: bool, bins: int, epochs: int) -> list[str]:
    out = [
        "data=lightcurve_demo",
        f"data.path={path}",
        "~data.generate",
        "~data.lightcurves",
        "features=xray",
        "cv.folds=5",
        f"trainer.max_epochs={epochs}",
        f"early_stopping.patience={epochs + 1}",
        "logger=none",
        "figures.enabled=false",
        "calibration.enabled=false",
    ]
    if joint:
        sequences = f"{{_target_:xnet.testing.lightcurves.masked_sequences,bins:{bins}}}"
        out += [f"+data.inputs={{lightcurve:{sequences}}}", ENCODER]
    return out


def measure(args: list[str]) -> dict:
    """One configuration, in this process: data prepared, then the fit timed epoch by epoch."""
    from xnet.config.compose import compose_config
    from xnet.models.stacked import StackedClassifier
    from xnet.training.run import quiet_lightning
    from xnet.training.stacking import fit_stack, make_members, plan_stacks, prepare_job

    quiet_lightning()
    cfg = compose_config(args)
    with tempfile.TemporaryDirectory() as tmp:
        job = prepare_job(cfg, Path(tmp))
        stacks = plan_stacks(make_members([job]))
        stamps: list[float] = []
        end_epoch = StackedClassifier._end_epoch

        def timed(self, *a):
            end_epoch(self, *a)
            stamps.append(time.perf_counter())

        StackedClassifier._end_epoch = timed
        before = _rss_mb()
        fit_stack(stacks[0])
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    return {
        "members": len(stacks[0]),
        "seconds_per_epoch": statistics.median(steps),
        "peak_mb": _peak_mb(),
        "fit_growth_mb": _peak_mb() - before,
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--bins", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(json.loads(args.one))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = catalog(n, Path(tmp))
            runs: dict[bool, list[dict]] = {False: [], True: []}
            for _ in range(args.repeats):
                for joint in (False, True):  # interleaved
                    runs[joint].append(run_child(overrides(path, joint, args.bins, args.epochs)))
            for joint in (False, True):
                med = {k: statistics.median(r[k] for r in runs[joint]) for k in runs[joint][0]}
                rows.append((n, joint, med))
    print(f"\n5-fold CV stack, {args.bins} bins, {args.epochs} epochs, medians of {args.repeats}")
    print(
        "| sources | model | s / epoch | peak RSS (MB) | growth during fit (MB) | vs catalog-only |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    base = {n: r for n, j, r in rows if not j}
    for n, joint, r in rows:
        ratio = r["seconds_per_epoch"] / base[n]["seconds_per_epoch"]
        name = "catalog + LightCurveCNN" if joint else "catalog only (30-30 MLP)"
        print(
            f"| {n:,} | {name} | {r['seconds_per_epoch']:.3f} | {r['peak_mb']:.0f} | "
            f"{r['fit_growth_mb']:.0f} | {ratio:.1f}x time |"
        )


if __name__ == "__main__":
    main()
