"""How long `xnet.predict` takes to write a prediction table in each format.

    python benchmarks/table_write.py --rows 200000 --repeats 3

Builds a table shaped like a prediction of the 8-class Chandra model (id, position, label,
predicted class, probabilities, confidence, flag, in_training: 16 columns, drawn at random with a
fixed seed) in chunks of 100,000 rows, and times `xnet.predict.writers.TableWriter` writing it
(from the first chunk to the renamed file) as Parquet, CSV, FITS, VOTable (BINARY2, with units,
descriptions, UCDs and provenance) and, for reference, the TABLEDATA VOTable astropy writes by
default. The formats take turns within each repeat; the table prints medians and each format's
time and size against Parquet's.

    python benchmarks/table_write.py --commands --rows 200000 --repeats 3

times whole `python -m xnet.predict` commands instead (interpreter start to exit) on a mock
4XMM-DR13 slim catalog of that many rows (`xnet.testing.mock_catalog`), with a run trained on the
bundled slice (20 epochs), writing .parquet, .fits and .vot in turn.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

CLASSES = ["AGN", "CV", "HM-STAR", "HMXB", "LM-STAR", "LMXB", "NS", "YSO"]
FLAGS = ["", "missing:fvar", "out_of_range:hr1", "poor_quality", "extended"]


def batches(rows: int, chunk: int = 100_000, seed: int = 1) -> list[pa.RecordBatch]:
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        proba = rng.dirichlet(np.ones(len(CLASSES)), n).astype(np.float32)
        best = proba.argmax(1).astype(np.int16)
        columns = {
            "CSCv2_name": pa.array([f"2CXO J{start + i:06d}.0+000000" for i in range(n)]),
            "ra": pa.array(rng.uniform(0, 360, n)),
            "dec": pa.array(rng.uniform(-90, 90, n)),
            "True_Class": pa.array(np.array(CLASSES)[rng.integers(0, 8, n)]),
            "pred_class": pa.DictionaryArray.from_arrays(pa.array(best), pa.array(CLASSES)),
            "pred_prob": pa.array(proba.max(1)),
            "confidence": pa.array(proba.max(1).astype(np.float64)),
            **{f"P_{c.replace('-', '_')}": pa.array(proba[:, k]) for k, c in enumerate(CLASSES)},
            "flag": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, len(FLAGS), n).astype(np.int16)), pa.array(FLAGS)
            ),
            "in_training": pa.array(rng.random(n) < 0.1),
        }
        out.append(pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns)))
    return out


def meta() -> dict:
    described = {name: (None, f"{name} of the table", "stat.probability") for name in ["x"]}
    described.update(
        {
            "ra": ("deg", "right ascension (J2000) from the input catalog", "pos.eq.ra;meta.main"),
            "dec": ("deg", "declination (J2000) from the input catalog", "pos.eq.dec;meta.main"),
            "pred_class": (None, "predicted class", "src.class"),
            "pred_prob": (None, "probability of pred_class (calibrated)", "stat.probability"),
        }
    )
    return described


PROVENANCE = {"CREATOR": ("xnet benchmark", "software that wrote the table")}


def write(kind: str, data: list[pa.RecordBatch], folder: Path) -> tuple[float, int]:
    """Seconds to write `data` as `kind` and the file's size in bytes."""
    from xnet.predict.writers import TableWriter

    suffix = {"votable-tabledata": "xml"}.get(kind, kind)
    path = folder / f"table.{suffix}"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    if kind == "votable-tabledata":  # astropy's default VOTable: what xnet wrote before
        from astropy.table import Table

        Table(pa.Table.from_batches(data).to_pandas().to_dict("list")).write(path, format="votable")
    else:
        with TableWriter(path, meta=meta(), provenance=PROVENANCE) as writer:
            for batch in data:
                writer.write(batch)
    return time.perf_counter() - started, path.stat().st_size


def commands(rows: int, repeats: int, kinds: list[str]) -> None:
    """Whole `python -m xnet.predict` commands writing each kind, interleaved; medians."""
    import subprocess
    import sys

    from xnet.testing import mock_catalog

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        train = [sys.executable, "-m", "xnet.train", f"hydra.run.dir={tmp / 'run'}"]
        train += ["logger=none", "figures.enabled=false", "trainer.max_epochs=20"]
        subprocess.run(train, check=True, capture_output=True)
        source = mock_catalog.write_fits(tmp / "slim.fits", mock_catalog.slim_table, rows)
        times: dict[str, list[float]] = {k: [] for k in kinds}
        sizes = {}
        for _ in range(repeats):
            for kind in kinds:
                out = tmp / f"out.{kind}"
                command = [sys.executable, "-m", "xnet.predict", f"run={tmp / 'run'}"]
                command += [f"input={source}", f"output={out}", "overwrite=true", "progress=false"]
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times[kind].append(time.perf_counter() - started)
                sizes[kind] = out.stat().st_size
    base = statistics.median(times[kinds[0]])
    print(f"python -m xnet.predict, {rows:,} rows (mock slim catalog); medians of {repeats}")
    print(f"| output | whole command s | runs | MB | time / {kinds[0]} |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        median = statistics.median(times[kind])
        runs = " / ".join(f"{t:.2f}" for t in times[kind])
        print(
            f"| .{kind} | {median:.2f} | {runs} | {sizes[kind] / 1e6:.1f} | {median / base:.2f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--kinds", default="parquet,csv,fits,vot,votable-tabledata", help="formats to time"
    )
    parser.add_argument("--commands", action="store_true", help="time whole xnet.predict commands")
    args = parser.parse_args(argv)
    if args.commands:
        return commands(args.rows, args.repeats, ["parquet", "vot", "fits"])
    kinds = args.kinds.split(",")
    data = batches(args.rows)
    times: dict[str, list[float]] = {k: [] for k in kinds}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        write("parquet", data[:1], Path(folder))  # imports (pyarrow.parquet, astropy) done once
        write("vot", data[:1], Path(folder))
        for _ in range(args.repeats):
            for kind in kinds:
                seconds, sizes[kind] = write(kind, data, Path(folder))
                times[kind].append(seconds)
    base = statistics.median(times["parquet"]) if "parquet" in times else None
    print(f"{args.rows:,} rows, {len(data[0].schema)} columns; medians of {args.repeats}")
    print("| format | write s | runs | MB | time / Parquet | size / Parquet |")
    print("|---|---|---|---|---|---|")
    for kind in kinds:
        median = statistics.median(times[kind])
        runs = " / ".join(f"{t:.2f}" for t in times[kind])
        ratio = f"{median / base:.2f}" if base else ""
        size = f"{sizes[kind] / sizes['parquet']:.1f}" if "parquet" in sizes else ""
        print(f"| {kind} | {median:.2f} | {runs} | {sizes[kind] / 1e6:.1f} | {ratio} | {size} |")


if __name__ == "__main__":
    main()
