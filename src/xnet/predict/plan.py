"""The input plan: which catalog config describes the input file, and which of its columns are
read for what (the model's features, the quality flags, the columns carried into the output)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from xnet.config.compose import compose_data_config, data_config_names
from xnet.data.features import DERIVED
from xnet.data.tables import TableInfo
from xnet.errors import XnetError
from xnet.predict.trained_run import TrainedRun

log = logging.getLogger("xnet.predict.job")

#: canonical columns read, where the catalog maps them, for the quality flags
FLAG_INPUTS = ("sum_flag", "extent")


@dataclass
class InputPlan:
    """How to read the input with one catalog config: which file columns, for what."""

    name: str
    data_cfg: dict
    canonical: dict[str, str] = field(default_factory=dict)  # canonical -> file column (numbers)
    flag_inputs: dict[str, str] = field(default_factory=dict)  # sum_flag/extent: of canonical
    id: str | None = None
    keep: list[str] = field(default_factory=list)
    ra: str | None = None
    dec: str | None = None
    label: str | None = None
    features: list[str] = field(default_factory=list)  # canonical inputs of the model's features
    problems: list[str] = field(default_factory=list)  # columns the file or the config lacks

    @property
    def carried(self) -> list[str]:
        """File columns copied into the output, in output order."""
        return [c for c in [self.id, *self.keep, self.ra, self.dec, self.label] if c]

    @property
    def feature_columns(self) -> list[str]:
        """File columns the model's features are computed from."""
        return [self.canonical[c] for c in self.features]

    @property
    def read(self) -> list[str]:
        return list(dict.fromkeys([*self.carried, *self.canonical.values()]))


def read_options(choice: str | None, run: TrainedRun) -> dict:
    """How to decode the input (`encoding:`, `delimiter:`): from the `catalog=` data config when
    given, else the run's own data config; the same keys training reads."""
    if choice:
        data_cfg = compose_data_config(str(choice))
    else:
        if run.data_cfg is None:  # composed once here; resolve_catalog reuses it
            with contextlib.suppress(XnetError):
                run.data_cfg = compose_data_config(run.catalog)
        data_cfg = run.data_cfg or {}
    return {"encoding": data_cfg.get("encoding"), "delimiter": data_cfg.get("delimiter")}


def plan_input(name: str, data_cfg: Mapping, info: TableInfo, run: TrainedRun) -> InputPlan:
    """Map the run's features onto the file's columns through a catalog config; what cannot be
    found goes to `problems` (the file column, and the canonical input it stands for)."""
    plan = InputPlan(name=name, data_cfg=dict(data_cfg))
    mapping = {str(k): str(v) for k, v in dict(data_cfg.get("columns") or {}).items()}
    present = {canon: info.find(col) for canon, col in mapping.items()}
    plan_features(plan, run, mapping, present)
    for key in ("id", "ra", "dec"):
        column = data_cfg.get(key)
        if column:
            found = info.find(str(column))
            setattr(plan, key, found)
            if not found:
                plan.problems.append(f"'{column}' (the {key} column)")
    for column in data_cfg.get("keep_columns") or []:
        found = info.find(str(column))
        if found:
            plan.keep.append(found)
        else:
            plan.problems.append(f"'{column}' (in keep_columns)")
    if data_cfg.get("label"):
        plan.label = info.find(str(data_cfg["label"]))
    plan.problems = list(dict.fromkeys(plan.problems))
    return plan


def plan_features(
    plan: InputPlan, run: TrainedRun, mapping: dict[str, str], present: dict[str, str | None]
) -> None:
    """The canonical inputs of the run's features (a derived feature by its first way the file
    has the inputs of) and of the quality flags, onto `plan`; what is missing to `problems`."""
    from xnet.predict.lightcurves import run_lightcurve_columns

    available = {canon for canon, col in present.items() if col}

    def absent(canon: str) -> str:
        return f"'{mapping[canon]}' (for {canon})" if canon in mapping else f"{canon} (not mapped)"

    provided = run_lightcurve_columns(run)  # timing features come from the light curves
    needed: list[str] = []
    for feature in run.features:
        if feature in provided:
            continue
        if feature in available:
            needed.append(feature)
            continue
        way = (
            next((needs for needs, _ in DERIVED[feature].ways if set(needs) <= available), None)
            if feature in DERIVED
            else None
        )
        if way is not None:
            needed.extend(way)
            continue
        wanted = DERIVED[feature].ways[0][0] if feature in DERIVED else (feature,)
        plan.problems.extend(absent(c) for c in wanted if c not in available)
    plan.features = list(dict.fromkeys(needed))
    for canon in plan.features:
        plan.canonical[canon] = present[canon]
    for canon in FLAG_INPUTS:
        if canon in available:
            plan.canonical[canon] = plan.flag_inputs[canon] = present[canon]


def resolve_catalog(choice: str | None, info: TableInfo, run: TrainedRun) -> InputPlan:
    """The catalog config describing the input: `catalog=` if given; else the run's own catalog if
    the input has its columns; else the first data config (by name) whose columns it has."""
    if choice:
        plan = plan_input(str(choice), compose_data_config(str(choice)), info, run)
        if plan.problems:
            raise _missing_columns_error(info, plan)
        return plan
    own_cfg = run.data_cfg
    if own_cfg is None:
        with contextlib.suppress(XnetError):
            own_cfg = compose_data_config(run.catalog)
    own = plan_input(run.catalog, own_cfg, info, run) if own_cfg is not None else None
    if own is not None and not own.problems:
        return own
    for name in data_config_names():
        if name == run.catalog:
            continue
        try:
            plan = plan_input(name, compose_data_config(name), info, run)
        except XnetError:  # a broken YAML among the user's must not hide the others
            continue
        if not plan.problems:
            log.info(
                "catalog: the input has the columns of data config '%s' (not those of the run's "
                "'%s'); pass catalog=<name> to choose another",
                name,
                run.catalog,
            )
            return plan
    if own is None:
        raise XnetError(
            f"{info.path}: no data config describes its columns and the run's catalog "
            f"'{run.catalog}' is not in the config path; pass catalog=<name> (a data YAML in "
            f"conf/data/ or your --config-dir)"
        )
    raise _missing_columns_error(info, own, searched=True)


def _missing_columns_error(info: TableInfo, plan: InputPlan, searched: bool = False) -> XnetError:
    also = "; no other data config fits either" if searched else ""
    return XnetError(
        f"{info.path}: the model's inputs need column {', '.join(plan.problems)}, not in the file "
        f"(catalog config '{plan.name}'{also}); pass catalog=<name> with a data config that maps "
        f"the input's columns (conf/data/ or your --config-dir)"
    )
