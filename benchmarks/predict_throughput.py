"""Throughput and memory of `xnet.predict` on catalogs the size of 4XMM-DR13 (a benchmark, not a
test).

Writes a slim-schema FITS of 656,997 rows and a full-schema one of 983,948 rows (detection-level
columns, the source-level SC_* ones and ~200 per-camera columns nobody reads), each row a source
of the bundled XMM slice drawn at random (xnet.testing.mock_catalog), into a temporary folder that
is
deleted at the end. Trains a small model on the bundled slice, then, in the same run and each in
a fresh process, times:

- read: the columns xnet.predict needs, read with astropy (`fits.open(memmap=True)`, one
  `np.array(hdul[1].data[name])` per column), nothing else;
- predict: `xnet.predict.predict(...)` to Parquet, everything from loading the checkpoint to the
  renamed output (the interpreter's start and imports are excluded, and shown separately as the
  wall time of the `python -m xnet.predict` command).

Prints medians over `--repeats`, the ratio predict / read and peak memory (max RSS) per process.

    python benchmarks/predict_throughput.py [--repeats 3] [--slim-rows 656997] [--full-rows 983948]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child_read(path: str, columns: list[str]) -> dict:
    import numpy as np
    from astropy.io import fits

    start = time.perf_counter()
    with fits.open(path, memmap=True) as hdul:
        data = hdul[1].data
        values = {name: np.array(data[name]) for name in columns}
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": len(next(iter(values.values()))),
        "max_rss_mb": max_rss_mb(),
    }


def child_predict(path: str, run: str, output: str) -> dict:
    """As `python -m xnet.predict` runs it: modules imported and Hydra set up before the clock
    starts."""
    import astropy.io.fits  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import tqdm  # noqa: F401
    from hydra import compose, initialize_config_dir

    from xnet.config.compose import CONFIG_DIR
    from xnet.predict import job as predict_module

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(
            "predict",
            overrides=[
                f"run={run}",
                f"input={path}",
                f"output={output}",
                "overwrite=true",
                "progress=false",
            ],
        )
        start = time.perf_counter()
        summary = predict_module.predict(cfg)
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": summary["rows"],
        "catalog": summary["catalog"],
        "max_rss_mb": max_rss_mb(),
    }


def child_columns(path: str, run: str) -> dict:
    """The file columns xnet.predict reads for this input and run."""
    from xnet.data.tables import table_info
    from xnet.predict.plan import resolve_catalog
    from xnet.predict.trained_run import load_run

    info = table_info(path)
    plan = resolve_catalog(None, info, load_run(run))
    return {"columns": plan.read, "catalog": plan.name}


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def in_child(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_wall(path: Path, run: Path, output: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnet.predict",
            f"run={run}",
            f"input={path}",
            f"output={output}",
            "overwrite=true",
            "progress=false",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"xnet.predict failed:\n{result.stderr}")
    return time.perf_counter() - start


def measure(label: str, path: Path, run: Path, tmp: Path, repeats: int) -> dict:
    plan = in_child("columns", str(path), str(run))
    reads, predicts = [], []
    for _ in range(repeats):  # interleaved, so that both see the same machine state
        reads.append(in_child("read", str(path), json.dumps(plan["columns"])))
        predicts.append(in_child("predict", str(path), str(run), str(tmp / "out.parquet")))
    wall = cli_wall(path, run, tmp / "out.parquet")
    rows = predicts[0]["rows"]
    read_s = statistics.median(r["seconds"] for r in reads)
    pred_s = statistics.median(p["seconds"] for p in predicts)
    return {
        "file": label,
        "rows": rows,
        "size_mb": path.stat().st_size / 2**20,
        "catalog": plan["catalog"],
        "columns_read": len(plan["columns"]),
        "read_s": read_s,
        "predict_s": pred_s,
        "ratio": pred_s / read_s,
        "rows_per_s": rows / pred_s,
        "read_rss_mb": max(r["max_rss_mb"] for r in reads),
        "predict_rss_mb": max(p["max_rss_mb"] for p in predicts),
        "cli_wall_s": wall,
        "predict_runs_s": [round(p["seconds"], 3) for p in predicts],
        "read_runs_s": [round(r["seconds"], 3) for r in reads],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slim-rows", type=int, default=656_997)
    parser.add_argument("--full-rows", type=int, default=983_948)
    parser.add_argument("--epochs", type=int, default=100, help="training epochs of the model used")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "read":
            out = child_read(rest[0], json.loads(rest[1]))
        elif kind == "predict":
            out = child_predict(*rest)
        else:
            out = child_columns(*rest)
        print(json.dumps(out))
        return

    from xnet.testing import mock_catalog

    tmp = Path(tempfile.mkdtemp(prefix="xnet-predict-bench-"))
    try:
        run = tmp / "run"
        train = subprocess.run(
            [
                sys.executable,
                "-m",
                "xnet.train",
                f"hydra.run.dir={run}",
                "logger=none",
                f"trainer.max_epochs={args.epochs}",
            ],
            capture_output=True,
            text=True,
        )
        if train.returncode != 0:
            raise SystemExit(f"training failed:\n{train.stderr}")
        rows = []
        for label, make, n in (
            ("slim", mock_catalog.slim_table, args.slim_rows),
            ("full", mock_catalog.full_table, args.full_rows),
        ):
            path = tmp / f"4xmm_dr13_{label}.fits"
            start = time.perf_counter()
            mock_catalog.write_fits(path, make, n)
            print(
                f"wrote {path.name}: {n:,} rows, {path.stat().st_size / 2**20:,.0f} MiB in "
                f"{time.perf_counter() - start:.1f} s",
                flush=True,
            )
            rows.append(measure(label, path, run, tmp, args.repeats))
            path.unlink()
        print()
        print(
            f"xnet.predict throughput, medians of {args.repeats} (each run in a fresh process; "
            "threads: torch 1)"
        )
        header = (
            f"{'file':<5} {'rows':>9} {'MiB':>6} {'catalog':<14} {'cols':>4} {'read s':>7} "
            f"{'predict s':>9} {'ratio':>6} {'rows/s':>9} {'read RSS':>9} {'pred RSS':>9} "
            f"{'CLI wall s':>10}"
        )
        print(header)
        print("-" * len(header))
        for r in rows:
            print(
                f"{r['file']:<5} {r['rows']:>9,} {r['size_mb']:>6.0f} {r['catalog']:<14} "
                f"{r['columns_read']:>4} "
                f"{r['read_s']:>7.3f} {r['predict_s']:>9.3f} {r['ratio']:>6.2f} "
                f"{r['rows_per_s']:>9,.0f} "
                f"{r['read_rss_mb']:>7.0f}MB {r['predict_rss_mb']:>7.0f}MB {r['cli_wall_s']:>10.2f}"
            )
        print()
        for r in rows:
            print(
                f"{r['file']}: read runs {r['read_runs_s']} s, predict runs {r['predict_runs_s']} s"
            )
        print(
            "read: astropy, only the columns predict reads; predict: xnet.predict.predict() to "
            "Parquet, in-process"
        )
        print(
            "(checkpoint to renamed file); CLI wall: `python -m xnet.predict` incl. interpreter "
            "start and imports."
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
