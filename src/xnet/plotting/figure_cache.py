"""The study's data figures, drawn once per data content and copied into each run.

Class shares, sky map, hardness planes, feature histograms and missing values depend on the data,
the features and the training rows of the run's first split, not on the model. They are drawn
into `<data home>/figure_cache/<key>/` (`xnet.config.data_home()`, env `XNET_DATA_HOME`), where
the key hashes the labelled set (frame, feature matrix, labels, classes, feature names), the
split's training rows and the source of the drawing code; every later run (a sweep's 15 jobs, a
rerun) with the same key copies the PNG files and `missing_values.csv` and adds the same images
to TensorBoard under the same tags. Delete the folder to redraw.

On a first run the drawing need not wait for the training: `draw_ahead` starts it in a forked
child process before the networks train (on another core), and `cached_data_figures` waits for
that child at the end. Where fork is unavailable (Windows), or the child fails, the figures are
drawn in-process as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.config import data_home
from xnet.cores import can_fork
from xnet.data.labelled import LabelledSet, Split

log = logging.getLogger(__name__)

MANIFEST = "figures.json"


def cache_dir() -> Path:
    return data_home() / "figure_cache"


def content_key(data: LabelledSet, split: Split) -> str:
    """SHA-256 (first 24 hex digits) of everything the data figures are drawn from."""
    from xnet.plotting import draw, run_figures

    h = hashlib.sha256()
    for module in (draw, run_figures):  # new drawing code draws anew
        h.update(Path(module.__file__).read_bytes())
    header = [
        data.catalog.name,
        list(data.classes),
        list(data.feature_names),
        list(data.spec.features),
    ]
    h.update(json.dumps(header).encode())
    for array in (data.x, data.y, split.train):
        array = np.ascontiguousarray(array)
        h.update(str((array.dtype, array.shape)).encode())
        h.update(array.tobytes())
    h.update(pd.util.hash_pandas_object(data.frame, index=True).to_numpy().tobytes())
    h.update(json.dumps([str(c) for c in data.frame.columns]).encode())
    return h.hexdigest()[:24]


def _draw(folder: Path, data: LabelledSet, split: Split) -> dict[str, str]:
    """Draw into a temporary folder, then rename it into place (a concurrent job drawing the same
    key loses the race harmlessly)."""
    from xnet.plotting.run_figures import write_data_figures

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        written = write_data_figures(tmp, data, split)
        (tmp / MANIFEST).write_text(json.dumps(written, indent=1))
        try:
            os.rename(tmp, folder)
        except OSError:  # drawn meanwhile by another process
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


#: data figures being drawn by a child process: (id(data), id(split)) -> (data, split, cache folder,
#: process); holding data and split keeps their ids from being reused by other objects meanwhile
_AHEAD: dict[
    tuple[int, int], tuple[LabelledSet, Split, Path, multiprocessing.process.BaseProcess]
] = {}


def draw_ahead(data: LabelledSet, split: Split) -> None:
    """Start drawing the data figures of (data, split) into the cache in a forked child, unless
    they are cached, already being drawn, or fork is unavailable. The child inherits the data (no
    copy, no pickling) and exits when done; it is a daemon, so it dies with an interrupted run."""
    if (id(data), id(split)) in _AHEAD or not can_fork():
        return
    folder = cache_dir() / content_key(data, split)
    if (folder / MANIFEST).exists():
        return
    child = multiprocessing.get_context("fork").Process(
        target=_draw, args=(folder, data, split), daemon=True
    )
    child.start()
    _AHEAD[(id(data), id(split))] = (data, split, folder, child)


def _cache_folder(data: LabelledSet, split: Split) -> Path:
    """The cache folder of (data, split), after waiting for a child drawing it (`draw_ahead`)."""
    ahead = _AHEAD.pop((id(data), id(split)), None)
    if ahead is None:
        return cache_dir() / content_key(data, split)
    _, _, folder, child = ahead
    child.join()
    if child.exitcode != 0 and not (folder / MANIFEST).exists():
        log.warning(
            "the background drawing of the data figures failed (exit code %s); drawing them here",
            child.exitcode,
        )
    return folder


def cached_data_figures(
    run_dir: Path, data: LabelledSet, split: Split, tb_writer=None
) -> dict[str, str]:
    """The data figures in `run_dir` (and TensorBoard, under `figures/<name>`), from the cache;
    drawn into the cache first where absent. Returns {figure name: file name}."""
    drawn_ahead = (id(data), id(split)) in _AHEAD  # by this run's child, beside the training
    folder = _cache_folder(data, split)
    manifest = folder / MANIFEST
    written = json.loads(manifest.read_text()) if manifest.exists() else None
    if written is None:
        written = _draw(folder, data, split)
        log.info("data figures drawn into the cache %s", folder)
    elif drawn_ahead:
        log.info("data figures drawn into the cache %s while the networks trained", folder)
    else:
        log.info("data figures unchanged: copied from the cache %s", folder)
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, file_name in written.items():
        content = (folder / file_name).read_bytes()
        (run_dir / file_name).write_bytes(content)
        if tb_writer is not None and file_name.endswith(".png"):
            from xnet.plotting.png import add_png

            add_png(tb_writer, f"figures/{name}", content)  # the file's own bytes, not re-encoded
    return written
