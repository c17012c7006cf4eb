"""The Python API, for notebooks: the same runs as the command lines, from the same overrides.

    from xnet.api import train, predict
    metrics = train(["data=csc_muwclass", "cv.folds=5"], run_dir="outputs/csc")
    table = predict("outputs/csc", "mine.csv")

The functions live here, not in `xnet/__init__.py`: there, a function named `train` or `predict`
would be replaced by the submodule `xnet.train` or the package `xnet.predict` as soon as either is
imported (Python sets a package attribute for every imported submodule).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from xnet.config.compose import CONFIG_DIR, compose_config
from xnet.config.schema import check_overrides

__all__ = ["compose_config", "train", "predict"]


def train(overrides: Sequence[str] | DictConfig = (), run_dir: str | Path | None = None) -> dict:
    """`python -m xnet.train <overrides>` in-process: composes conf/train.yaml with `overrides`
    (or takes a composed config), trains, writes the run directory (default
    outputs/train/runs/<date>_<time>/, as the command; one holding a finished run only with
    the override `overwrite=true`, which deletes that run's files first) and returns the
    metrics.json payload."""
    from xnet.runs.run_claim import release
    from xnet.runs.run_dir import claim
    from xnet.training.run import quiet_lightning
    from xnet.training.run import train as train_run

    if not isinstance(overrides, DictConfig):
        check_overrides(list(overrides), "train", CONFIG_DIR)
    cfg = overrides if isinstance(overrides, DictConfig) else compose_config(list(overrides))
    run_dir = Path(
        run_dir
        or Path("outputs") / str(cfg.task_name) / "runs" / time.strftime("%Y-%m-%d_%H-%M-%S")
    )
    claim(run_dir, bool(cfg.overwrite), key="run_dir")
    try:
        quiet_lightning()
        return train_run(cfg, run_dir)
    finally:
        release(run_dir)  # the directory is free for the next training (`run_claim`)


def predict(
    run: str | Path,
    input: str | Path,
    output: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> pd.DataFrame:
    """`python -m xnet.predict run=<run> input=<input> output=<output> <overrides>` in-process;
    returns the output table (read back from `output`, or from a temporary Parquet file when no
    output is given)."""
    from xnet.predict.job import predict as predict_catalog

    check_overrides(list(overrides), "predict", CONFIG_DIR)
    with tempfile.TemporaryDirectory(prefix="xnet-predict-") as tmp:
        target = Path(output) if output is not None else Path(tmp) / "predictions.parquet"
        cfg = compose_config(
            [f"run={run}", f"input={input}", f"output={target}", "progress=false", *overrides],
            config_name="predict",
        )
        predict_catalog(cfg)
        if target.suffix.lower() in (".csv",):
            return pd.read_csv(target, keep_default_na=False, na_values=[""])
        if target.suffix.lower() in (".fits", ".fit", ".fts", ".vot"):
            from astropy.table import Table

            kind = "votable" if target.suffix.lower() == ".vot" else "fits"
            return Table.read(target, format=kind).to_pandas()
        return pd.read_parquet(target)
