"""Data sets written at run time: a data config's `generate` node (a `_target_` writing the
catalog at `path`, such as the simulated light-curve demo) is called when `path` does not exist."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def ensure_generated(data_cfg: Mapping) -> None:
    spec, path = data_cfg.get("generate"), data_cfg.get("path")
    if not spec or not path or Path(str(path)).expanduser().exists():
        return
    import logging

    from hydra.utils import instantiate

    logging.getLogger(__name__).info("generating data '%s' into %s", data_cfg.get("name"), path)
    instantiate(spec)
