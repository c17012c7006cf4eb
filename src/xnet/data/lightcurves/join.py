"""Light curves matched to catalog rows by id: what a run trains on and `xnet.predict` reads.

A data config names its light curves under `lightcurves:` (docs/lightcurves.md): where they are
(`format`, `path`, `pattern`, `band`, `id_from`, long-table `columns` and `dt`), what to do with
duplicates and with light curves no catalog row claims, and how they become inputs (`input`, the
model input's name; `binning`; `timing`). A light curve joins the catalog rows whose `id` column
equals its id. `xnet.predict` reads the source part from its own `lightcurves:` and the input part
from the run (`LightCurveInput`, saved in every checkpoint).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.data.lightcurves.binning import Binning, bin_lightcurves
from xnet.data.lightcurves.timing import PRESENT, TIMING_COLUMNS, TimingSettings, timing_features
from xnet.errors import XnetError

log = logging.getLogger(__name__)

POLICIES = {"duplicates": ("error", "longest"), "unmatched": ("error", "ignore")}


@dataclass
class LightCurveSource:
    """Where light curves are and how their ids read; `load` gives one per catalog id."""

    format: str
    path: Path
    pattern: str | None = None
    band: str | None = None
    id_from: str = "filename"
    columns: dict = field(default_factory=dict)
    dt: float | None = None
    duplicates: str = "error"
    unmatched: str = "error"
    key: str = "data.lightcurves"  # the config node, for messages
    found: dict | None = field(default=None, repr=False)  # id -> entries, once indexed

    @classmethod
    def from_config(cls, cfg: Mapping, key: str = "data.lightcurves") -> LightCurveSource:
        if not cfg.get("format") or not cfg.get("path"):
            raise XnetError(f"{key}: needs format (xmm, csc or table) and path")
        for name, allowed in POLICIES.items():
            if str(cfg.get(name, "error")) not in allowed:
                raise XnetError(f"{key}.{name}={cfg.get(name)!r}: must be one of {allowed}")
        source = cls(
            format=str(cfg["format"]),
            path=Path(str(cfg["path"])).expanduser(),
            pattern=cfg.get("pattern"),
            band=None if cfg.get("band") is None else str(cfg.get("band")),
            id_from=str(cfg.get("id_from") or "filename"),
            columns=dict(cfg.get("columns") or {}),
            dt=None if cfg.get("dt") is None else float(cfg["dt"]),
            duplicates=str(cfg.get("duplicates", "error")),
            unmatched=str(cfg.get("unmatched", "error")),
            key=key,
        )
        if source.format != "table":
            from xnet.data.lightcurves.products import product_format

            fmt = product_format(source.format)
            source.band = source.band if cfg.get("band") is not None else fmt.band
        return source

    def entries(self) -> dict[str, list]:
        """id -> its light curves: files of a folder (read on demand) or a long table's curves."""
        if self.found is not None:
            return self.found
        if self.format == "table":
            from xnet.data.lightcurves.long_table import read_long_table

            pairs = read_long_table(self.path, self.columns, self.band, self.dt)
        else:
            from xnet.data.lightcurves.products import index_folder, product_format

            fmt = product_format(self.format)
            pairs = index_folder(self.path, fmt, self.pattern, self.band, self.id_from)
        found: dict[str, list] = {}
        for source, entry in pairs:
            found.setdefault(str(source), []).append(entry)
        self.found = found
        return found

    def check_matched(self, known: Iterable[str | None], catalog: str | Path) -> None:
        """A light curve whose id no catalog row has: one line naming its file."""
        if self.unmatched == "ignore":
            return
        known = set(known)
        for source, entries in self.entries().items():
            if source not in known:
                raise XnetError(
                    f"{_where(entries[0], self.path)}: light curve of source {source!r} has no "
                    f"catalog row (no id {source!r} in {catalog}); remove it, or set "
                    f"{self.key}.unmatched=ignore"
                )

    def load(self, ids: Sequence[str | None]) -> list:
        """One stingray Lightcurve (or None) per id, duplicates resolved by `duplicates`."""
        entries, cache = self.entries(), {}
        out = []
        for source in ids:
            if source is None or source not in entries:
                out.append(None)
                continue
            if source not in cache:
                cache[source] = self._one(source, entries[source])
            out.append(cache[source])
        return out

    def _one(self, source: str, entries: list):
        if len(entries) > 1 and self.duplicates == "error":
            files = ", ".join(_where(e, self.path) for e in entries[:3])
            raise XnetError(
                f"{files}: {len(entries)} light curves for source {source!r} (duplicate ids); "
                f"keep one, select with {self.key}.band or .pattern, or set "
                f"{self.key}.duplicates=longest"
            )
        from xnet.data.lightcurves.records import good_time

        return max((self._read(e, source) for e in entries), key=good_time)

    def _read(self, entry, source: str):
        if not isinstance(entry, Path):
            return entry
        from xnet.data.lightcurves.products import read_product

        return read_product(entry, self.format, source)


def _where(entry, path: Path) -> str:
    return str(entry) if isinstance(entry, Path) else str(path)


@dataclass
class LightCurveInput:
    """How light curves become inputs: the model input's name (None: timing features only), the
    binning and the timing features (None: off). Saved with every checkpoint."""

    input: str | None
    binning: Binning
    timing: TimingSettings | None

    @classmethod
    def from_config(cls, cfg: Mapping) -> LightCurveInput:
        timing = dict(cfg.get("timing") or {})
        return cls(
            input=None if cfg.get("input") is None else str(cfg.get("input")),
            binning=Binning.from_config(cfg.get("binning")),
            timing=TimingSettings.from_config(timing) if timing.get("enabled", True) else None,
        )

    def to_dict(self) -> dict:
        timing = None if self.timing is None else {"enabled": True, **self.timing.to_dict()}
        return {"input": self.input, "binning": self.binning.to_dict(), "timing": timing}

    @classmethod
    def from_dict(cls, state: Mapping) -> LightCurveInput:
        timing = state.get("timing")
        return cls.from_config({**state, "timing": timing or {"enabled": False}})

    @property
    def columns(self) -> list[str]:
        return [*(TIMING_COLUMNS if self.timing is not None else ()), PRESENT]

    def build(self, lcs: Sequence) -> tuple[pd.DataFrame, np.ndarray | None]:
        """(timing columns and `lc_present` per source, the binned inputs or None). A light curve
        with fewer good bins than `timing.min_bins` counts as none (no input, no features)."""
        settings = self.timing or TimingSettings()
        columns = timing_features(lcs, settings)
        usable = [lc if ok else None for lc, ok in zip(lcs, columns[PRESENT] > 0)]
        sequences = None
        if self.input is not None:
            sequences, cut = bin_lightcurves(usable, self.binning)
            if cut:
                log.warning(
                    "light curves: %d spans longer than binning.bins x bin_seconds were cut", cut
                )
        return columns[self.columns], sequences


@dataclass
class Attached:
    """A catalog's light curves as per-row timing columns and binned inputs."""

    settings: LightCurveInput
    columns: pd.DataFrame  # aligned with the catalog frame's rows
    sequences: np.ndarray | None

    def inputs(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The named model input of these catalog rows (none with `input: null`)."""
        if self.sequences is None or self.settings.input is None:
            return {}
        return {self.settings.input: self.sequences[rows]}


def catalog_ids(data_cfg: Mapping, path: Path) -> list[str | None]:
    """Every id in the catalog file (before any filter), as `xnet.data.ids` spells ids."""
    from xnet.data.ids import id_strings
    from xnet.data.tables import read_table, table_info

    info = table_info(path, data_cfg.get("encoding"), data_cfg.get("delimiter"))
    column = info.find(str(data_cfg["id"]))
    return id_strings(read_table(info, [column], text=[column])[column].to_numpy(dtype=object))


def attach_lightcurves(data_cfg: Mapping, catalog) -> Attached | None:
    """The light curves `data.lightcurves` names, matched to the catalog's rows by its `id`
    column; None when the data config names none."""
    cfg = data_cfg.get("lightcurves")
    if not cfg:
        return None
    from xnet.data.catalog import SOURCE_ID
    from xnet.data.ids import id_strings

    if not data_cfg.get("id") or SOURCE_ID not in catalog.frame:
        raise XnetError(
            f"data.lightcurves: light curves join catalog rows by id; set data.id to the "
            f"catalog's id column ({catalog.path})"
        )
    source = LightCurveSource.from_config(cfg)
    settings = LightCurveInput.from_config(cfg)
    source.check_matched(catalog_ids(data_cfg, catalog.path), catalog.path)
    ids = id_strings(catalog.frame[SOURCE_ID].to_numpy(dtype=object))
    if cfg.get("cache", True):
        from xnet.data.lightcurves.cache import build_cached

        columns, sequences = build_cached(source, settings, ids)
    else:
        columns, sequences = settings.build(source.load(ids))
    log.info(
        "light curves (%s, %s): %d of %d catalog sources have one",
        source.format,
        source.path,
        int(columns[PRESENT].sum()),
        len(ids),
    )
    return Attached(settings, columns.set_index(catalog.frame.index), sequences)
