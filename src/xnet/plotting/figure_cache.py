"""The study's data figures, drawn once per data content and copied into each run.

Class shares, sky map, hardness planes, feature histograms and missing values depend on the data,
the features and the training rows of the run's first split, not on the model. They are drawn
into `<data home>/figure_cache/<key>/` (`xnet.config.compose.data_home()`, env `XNET_DATA_HOME`),
where the key hashes the labelled set (frame, feature matrix, labels, classes, feature names), the
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

from xnet.config.compose import data_home
from xnet.data.labelled import LabelledSet
from xnet.data.splits import Split
from xnet.errors import XnetError
from xnet.files import path_inside, read_bounded

log = logging.getLogger(__name__)

MANIFEST = "figures.json"


def cache_dir() -> Path:
    return data_home() / "figure_cache"


def content_key(data: LabelledSet, split: Split) -> str:
    """SHA-256 (first 24 hex digits) of everything the data figures are drawn from."""
    from xnet.plotting import data_figures, draw, figure_writer

    h = hashlib.sha256(b"figures.json: files and their sha256")  # the index's format
    for module in (draw, data_figures, figure_writer):  # new drawing code draws anew
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
    key loses the race harmlessly). The index records each file's SHA-256."""
    from xnet.plotting import data_figures

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        written = data_figures.write_data_figures(tmp, data, split)
        digests = {f: hashlib.sha256((tmp / f).read_bytes()).hexdigest() for f in written.values()}
        (tmp / MANIFEST).write_text(json.dumps({"files": written, "sha256": digests}, indent=1))
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
    copy, no pickling) and exits when done; it is a daemon, so it dies with an interrupted run.
    The caller decides whether to fork at all (`xnet.training.run.draw_data_figures_ahead`)."""
    if (id(data), id(split)) in _AHEAD:
        return
    folder = cache_dir() / content_key(data, split)
    if (folder / MANIFEST).exists() or not _can_create(folder.parent):
        return  # cached, or not writable (`cached_data_figures` warns and draws into the run)
    child = multiprocessing.get_context("fork").Process(
        target=_draw, args=(folder, data, split), daemon=True
    )
    child.start()
    _AHEAD[(id(data), id(split))] = (data, split, folder, child)


def _can_create(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


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


def _read_cached(folder: Path) -> dict[str, tuple[str, bytes]] | None:
    """{figure name: (file name, bytes)} of a cache folder whose index is intact, names plain
    files of the folder (never a path outside it) and whose files have the recorded SHA-256;
    None when there is no index, with a warning when it or a file is damaged (then redrawn)."""
    manifest = folder / MANIFEST
    if not manifest.exists():
        return None
    try:
        index = json.loads(read_bounded(manifest, "figure index"))
        files, digests = index["files"], index["sha256"]
        out = {}
        for name, file_name in files.items():
            if path_inside(folder, file_name) is None or Path(file_name).name != file_name:
                raise ValueError(f"entry {name!r} names {file_name!r}, not a file of the folder")
            content = read_bounded(folder / file_name, "figure")
            if hashlib.sha256(content).hexdigest() != digests.get(file_name):
                raise ValueError(f"{file_name} differs from the file drawn (damaged or replaced)")
            out[str(name)] = (file_name, content)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, XnetError) as err:
        log.warning("figure cache %s is damaged (%s); drawing the data figures again", folder, err)
        return None
    return out


def _redraw(folder: Path, data: LabelledSet, split: Split) -> dict[str, tuple[str, bytes]] | None:
    """Draw the data figures into the cache, replacing a damaged folder; what was drawn."""
    if (
        folder.exists()
    ):  # damaged: set aside (atomic) and removed, so the new drawing takes its place
        stale = folder.with_name(f".{folder.name}.{os.getpid()}.stale")
        os.rename(folder, stale)
        shutil.rmtree(stale, ignore_errors=True)
    _draw(folder, data, split)
    return _read_cached(folder)


def cached_data_figures(
    run_dir: Path, data: LabelledSet, split: Split, tb_writer=None
) -> dict[str, str]:
    """The data figures in `run_dir` (and TensorBoard, under `figures/<name>`), from the cache;
    drawn into the cache first where absent or damaged. A cache that cannot be written (the data
    home read-only, or a regular file) means drawing into the run, with a warning. Returns
    {figure name: file name}."""
    drawn_ahead = (id(data), id(split)) in _AHEAD  # by this run's child, beside the training
    folder = _cache_folder(data, split)
    cached = _read_cached(folder)
    if cached is None:
        try:
            cached = _redraw(folder, data, split)
        except OSError as err:
            log.warning(
                "figure cache %s cannot be written (%s); drawing the data figures into the run "
                "(set XNET_DATA_HOME to a writable folder, or figures.cache=false)",
                folder,
                err.strerror or err,
            )
        if cached is None:
            from xnet.plotting import data_figures

            return data_figures.write_data_figures(run_dir, data, split, tb_writer)
        log.info("data figures drawn into the cache %s", folder)
    elif drawn_ahead:
        log.info("data figures drawn into the cache %s while the networks trained", folder)
    else:
        log.info("data figures unchanged: copied from the cache %s", folder)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (file_name, content) in cached.items():
        (run_dir / file_name).write_bytes(content)
        written[name] = file_name
        if tb_writer is not None and file_name.endswith(".png"):
            from xnet.plotting.png import add_png

            add_png(tb_writer, f"figures/{name}", content)  # the file's own bytes, not re-encoded
    return written
