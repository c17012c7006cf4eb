"""The inputs built from a catalog's light curves, kept in the data home between runs.

Reading a few thousand FITS files and computing their periodograms takes a minute on a busy core;
a rerun, a sweep's next command or the catalog-only comparison would pay it again. The timing
columns and binned inputs are stored under `$XNET_DATA_HOME/cache/lightcurves/<key>.npz`, the key
a hash of everything they depend on: the input settings, the source settings, the catalog ids in
order and, for every light-curve file, its name, size and modification time (a changed file is a
new key). `data.lightcurves.cache: false` switches it off.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.config.compose import data_home
from xnet.files import atomic_write

log = logging.getLogger(__name__)

#: raise when what the cached arrays mean changes
VERSION = 1


def _stat(path: Path) -> list:
    info = Path(path).stat()
    return [str(Path(path).resolve()), info.st_size, info.st_mtime_ns]


def cache_key(source, settings, ids: list) -> str:
    entries = source.entries()
    files = (
        [_stat(source.path)]
        if source.format == "table"
        else [[i, *(_stat(p) for p in entries[i])] for i in dict.fromkeys(ids) if i in entries]
    )
    text = json.dumps(
        [
            VERSION,
            settings.to_dict(),
            source.format,
            source.band,
            source.columns,
            source.dt,
            source.duplicates,
            ids,
            files,
        ],
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def build_cached(source, settings, ids: list) -> tuple[pd.DataFrame, np.ndarray | None]:
    """`settings.build(source.load(ids))`, from the cache where it holds them."""
    path = data_home() / "cache" / "lightcurves" / f"{cache_key(source, settings, ids)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                columns = pd.DataFrame(npz["columns"], columns=[str(c) for c in npz["names"]])
                sequences = npz["sequences"] if npz["sequences"].ndim == 3 else None
            log.info("light curves: inputs from the cache (%s)", path)
            return columns, sequences
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is rebuilt
    columns, sequences = settings.build(source.load(ids))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                columns=columns.to_numpy(dtype=float),
                names=np.array(list(columns.columns)),
                sequences=sequences if sequences is not None else np.zeros(0, np.float32),
            )

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, write)
    except OSError as err:  # a read-only data home only costs the next run the time
        log.debug("light curves: not cached (%s)", err)
    return columns, sequences
