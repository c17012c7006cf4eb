"""A light-curve run's second input in `xnet.predict`: the input catalog's light curves.

Where they are comes from the catalog config describing the input (its `lightcurves:` node),
overridden by the command's `lightcurves.*` (`lightcurves.path=none`: no light curves at all, every
source takes the "no light curve" path). How they become inputs comes from the run (the binning and
timing settings saved in its checkpoints), so a chunk's timing columns and binned inputs are built
exactly as in training. Light curves join the input's rows by the catalog config's `id` column.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from xnet.data.ids import id_strings
from xnet.data.lightcurves.join import LightCurveInput, LightCurveSource
from xnet.data.lightcurves.timing import PRESENT
from xnet.errors import XnetError

log = logging.getLogger("xnet.predict.job")


def source_config(catalog_cfg: Mapping | None, overrides: Mapping | None) -> dict:
    """The catalog config's `lightcurves` with the command's non-null `lightcurves.*` on top."""
    own = dict((catalog_cfg or {}).get("lightcurves") or {})
    given = {k: v for k, v in dict(overrides or {}).items() if v not in (None, {}, [])}
    return {**own, **given}


class ChunkLightCurves:
    """Timing columns and binned inputs for each chunk of the input, from its light curves."""

    def __init__(self, settings: LightCurveInput, source: LightCurveSource | None, id_column: str):
        self.settings, self.source, self.id_column = settings, source, id_column
        self.seen: set[str | None] = set()
        self.rows = self.with_curve = 0

    def add(self, frame: pd.DataFrame, columns: Mapping) -> tuple[pd.DataFrame, dict]:
        """The chunk's canonical frame with the timing columns added, and its extra inputs."""
        ids = id_strings(columns[self.id_column])
        self.seen.update(ids)
        curves = self.source.load(ids) if self.source is not None else [None] * len(ids)
        timing, sequences = self.settings.build(curves)
        frame = frame.assign(**{c: timing[c].to_numpy() for c in timing.columns})
        self.rows += len(ids)
        self.with_curve += int(timing[PRESENT].sum())
        name = self.settings.input
        return frame, ({name: sequences} if name is not None else {})

    def finish(self, input_path: Path) -> None:
        """After the last chunk: light curves no input row claimed, and the count."""
        if self.source is not None:
            self.source.check_matched(self.seen, input_path)
        log.info(
            "light curves: %s of %s sources have one", f"{self.with_curve:,}", f"{self.rows:,}"
        )


def chunk_lightcurves(run, cfg: Mapping, plan) -> ChunkLightCurves | None:
    """The light-curve reader of a light-curve run (None for a run without light curves)."""
    state = run.state.get("lightcurves")
    if not state:
        return None
    settings = LightCurveInput.from_dict(state)
    merged = source_config(plan.data_cfg, cfg.get("lightcurves"))
    if plan.id is None:
        raise XnetError(
            f"run {run.source} reads light curves, which join the input's rows by id: catalog "
            f"config '{plan.name}' names no id column; set `id` in it"
        )
    path = merged.get("path")
    if str(path).lower() == "none":
        log.info("lightcurves.path=none: every source takes the 'no light curve' path")
        return ChunkLightCurves(settings, None, plan.id)
    if not path or not merged.get("format"):
        raise XnetError(
            f"run {run.source} reads light curves, and catalog config '{plan.name}' names none: "
            f"pass lightcurves.path=<folder or table> and lightcurves.format=<xmm|csc|table> (or "
            f"lightcurves.path=none to classify every source by the 'no light curve' path)"
        )
    source = LightCurveSource.from_config(merged, key="lightcurves")
    source.entries()  # indexed now: a bad folder or table is an error before any output
    return ChunkLightCurves(settings, source, plan.id)


def run_lightcurve_columns(run) -> set[str]:
    """Feature columns a light-curve run's light curves provide (not read from the catalog)."""
    state = run.state.get("lightcurves")
    return set(LightCurveInput.from_dict(state).columns) if state else set()
