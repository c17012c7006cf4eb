"""Catalog loading: read a table once (`xnet.data.tables`) and rename its columns to canonical ones.

A catalog is described by a data YAML (`conf/data/*.yaml`): the file, its label, id and position
columns, quality filters and the mapping `columns: {canonical: column in the file}`. Everything
after this module works on canonical names only.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.data.tables import NA_STRINGS, TableInfo, read_table, table_info
from xnet.errors import XnetError

log = logging.getLogger(__name__)

#: logical flag spellings (4XMM `sc_var_flag` is t/f/empty in CSV exports)
FLAG_VALUES = {"t": 1.0, "true": 1.0, "f": 0.0, "false": 0.0}

#: columns the canonical frame always carries besides the mapped ones
LABEL, SOURCE_ID, RA, DEC = "label", "source_id", "ra", "dec"


@dataclass
class Catalog:
    """A catalog read from `path`: canonical numeric columns plus id, position and label."""

    name: str
    path: Path
    frame: pd.DataFrame
    columns: dict[str, str]  # canonical -> file column, for messages
    notes: list[str] = field(default_factory=list)  # said once: which FITS table was read, ...

    @property
    def classes(self) -> list[str]:
        return sorted(self.frame[LABEL].dropna().unique())


def to_numeric(values: pd.Series, *, path: Path, column: str, canonical: str) -> pd.Series:
    """Float column from numbers, t/f flags or text; non-numeric text is an error naming the
    value."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype(object).where(values.notna(), None)
    stripped = text.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    present = stripped.dropna()
    present = present[~present.isin([s.lower() for s in NA_STRINGS])]
    if len(present) and present.map(lambda v: isinstance(v, str) and v in FLAG_VALUES).all():
        return stripped.map(
            lambda v: FLAG_VALUES.get(v, np.nan) if isinstance(v, str) else np.nan
        ).astype(float)
    numbers = pd.to_numeric(
        stripped.where(~stripped.isin([s.lower() for s in NA_STRINGS])), errors="coerce"
    )
    bad = numbers.isna() & stripped.notna() & ~stripped.isin([s.lower() for s in NA_STRINGS])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise XnetError(
            f"{path}: column '{column}' (feature input '{canonical}') holds non-numeric text "
            f"{text.iloc[row]!r} in data row {int(values.index[row]) + 1}; fix the value or map "
            f"another column"
        )
    return numbers.astype(float)


def load_catalog(data_cfg: Mapping, *, labelled: bool = True) -> Catalog:
    """Read the catalog a data YAML describes into canonical columns, with its filters applied."""
    name = data_cfg.get("name", "catalog")
    path = _catalog_path(data_cfg, name)
    label = data_cfg.get("label")
    if labelled and not label:
        raise XnetError(f"data config '{name}' has no 'label' column; set data.label=<column>")
    info = table_info(path, encoding=data_cfg.get("encoding"), delimiter=data_cfg.get("delimiter"))
    mapping, special, label = _file_columns(info, data_cfg, name, label if labelled else None)
    wanted = list(mapping.values()) + list(special.values()) + ([label] if labelled else [])
    raw = read_table(info, wanted, text=[label] if labelled else [])

    frame = pd.DataFrame(index=raw.index)
    if SOURCE_ID in special:
        frame[SOURCE_ID] = raw[special[SOURCE_ID]].astype(object).to_numpy()
    for key in (RA, DEC):
        if key in special:
            frame[key] = to_numeric(
                raw[special[key]], path=path, column=special[key], canonical=key
            )
    for canon, col in mapping.items():
        frame[canon] = to_numeric(raw[col], path=path, column=col, canonical=canon)
    if labelled:
        frame[LABEL] = label_values(raw[label], data_cfg.get("label_map"), path=path, column=label)
        unlabelled = int(frame[LABEL].isna().sum())
        if unlabelled:
            log.warning(
                "%s: %d rows without a class in '%s' are left out", path.name, unlabelled, label
            )
            frame = frame[frame[LABEL].notna()]
    frame = apply_filters(frame, data_cfg.get("filters") or {}, name=name)
    if labelled:
        frame = select_classes(frame, data_cfg.get("classes"), path=path, label=str(label))
    if frame.empty:
        raise XnetError(
            f"{path}: no sources left after the filters and class selection of data '{name}'"
        )
    return Catalog(
        name=name,
        path=path,
        frame=frame.reset_index(drop=True),
        columns=mapping,
        notes=[info.note] if info.note else [],
    )


def _catalog_path(data_cfg: Mapping, name: str) -> Path:
    """The data YAML's `path`; a missing file names the download command where there is one."""
    if not data_cfg.get("path"):
        raise XnetError(f"data config '{name}' has no 'path'; set data.path=<file>")
    path = Path(str(data_cfg["path"])).expanduser()
    if not path.exists():
        hint = (
            f"; download it with `python -m xnet.fetch {data_cfg['fetch']}` (needs network) or "
            f"point data.path at a local copy"
            if data_cfg.get("fetch")
            else "; set data.path=<file>"
        )
        raise XnetError(f"{path}: catalog file for data '{name}' not found{hint}")
    return path


def _file_columns(
    info: TableInfo, data_cfg: Mapping, name: str, label
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """(canonical -> file column, id/ra/dec -> file column, the label's file column), in the
    file's spelling: one rule with xnet.predict, config names match case-insensitively. A column
    the file lacks is one error naming it and the file's columns. `label` None: unlabelled."""
    path = info.path
    mapping = {str(k): str(v) for k, v in dict(data_cfg.get("columns") or {}).items()}
    special = {SOURCE_ID: data_cfg.get("id"), RA: data_cfg.get("ra"), DEC: data_cfg.get("dec")}
    special = {k: str(v) for k, v in special.items() if v}
    if label is not None and not info.find(str(label)):
        raise XnetError(
            f"{path}: label column '{label}' not found (data '{name}'; columns in the file: "
            f"{info.seen()}); set data.label=<column>"
        )
    missing = [
        f"'{col}' (for {canon})"
        for canon, col in {**special, **mapping}.items()
        if not info.find(col)
    ]
    if missing:
        raise XnetError(
            f"{path}: column {', '.join(missing)} not found (columns in the file: {info.seen()}); "
            f"fix the mapping in data config '{name}'"
        )
    special = {k: info.find(v) for k, v in special.items()}
    mapping = {k: info.find(v) for k, v in mapping.items()}
    return mapping, special, info.find(str(label)) if label is not None else None


def label_values(
    values: pd.Series, label_map: Mapping | None = None, *, path: Path | str = "", column: str = ""
) -> np.ndarray:
    """Class labels as stripped strings exactly as written (read as text: '0', never '0.0'), None
    where missing (empty or an NA spelling), renamed by the data YAML's `label_map` ({as written:
    class}). Labels that differ only in case or spacing (`AGN`, ` agn`) are an error naming them."""
    labels = values.astype(object).where(values.notna(), None)
    labels = labels.map(lambda v: str(v).strip() if v is not None else None)
    labels = labels.where(labels.map(lambda v: bool(v) and v not in NA_STRINGS), None)
    if label_map:
        renames = {
            str(k).strip(): (None if v is None else str(v).strip())
            for k, v in dict(label_map).items()
        }
        labels = labels.map(lambda v: renames.get(v, v) if v is not None else None)
    check_near_duplicates(labels.dropna().unique(), path=path, column=column)
    return labels.to_numpy(dtype=object)


def check_near_duplicates(labels, *, path: Path | str, column: str) -> None:
    """Class names that are the same after case and whitespace folding are one error naming them."""
    folded: dict[str, list[str]] = {}
    for label in labels:
        folded.setdefault(" ".join(str(label).split()).casefold(), []).append(str(label))
    clashes = [sorted(group) for group in folded.values() if len(group) > 1]
    if clashes:
        listed = "; ".join(" / ".join(map(repr, group)) for group in clashes)
        raise XnetError(
            f"{path}: label column '{column}' spells one class in several ways: {listed}; merge "
            f"them with `label_map: {{{clashes[0][1]!r}: {clashes[0][0]!r}}}` in the data YAML "
            f"(or fix the file)"
        )


#: a FITS column name fits in one header card: at most 68 characters
FITS_NAME_LENGTH = 68


def probability_column(cls: str) -> str:
    """`P_<class>` with characters FITS column names cannot hold replaced (LM-STAR -> P_LM_STAR)."""
    return "P_" + re.sub(r"[^0-9A-Za-z_]", "_", cls)


def probability_column_clashes(classes) -> list[str]:
    """Classes that would share one `P_<class>` column (`LM-STAR`, `LM_STAR`): one probability
    would be lost from the output."""
    columns: dict[str, list[str]] = {}
    for c in classes:
        columns.setdefault(probability_column(str(c)), []).append(str(c))
    return [
        f"classes {' and '.join(map(repr, names))} would share the probability column {column}"
        for column, names in columns.items()
        if len(names) > 1
    ]


def class_name_problems(classes) -> list[str]:
    """Why these class names cannot be written as prediction columns: a control character (a
    newline) in a name, two classes sharing one `P_<class>` column, or a column name too long for
    FITS. Checked at training, before any work, so that every trained run can be written to
    every output format."""
    problems = [
        f"class {c!r} holds a control character (newline, tab, ...)"
        for c in classes
        if any(unicodedata.category(ch) == "Cc" for ch in str(c))
    ]
    problems += probability_column_clashes(classes)
    problems += [
        f"class {c!r} is too long for a FITS column name ({probability_column(str(c))!r}: "
        f"{len(probability_column(str(c)))} characters, at most {FITS_NAME_LENGTH})"
        for c in classes
        if len(probability_column(str(c))) > FITS_NAME_LENGTH
    ]
    return problems


def check_class_names(classes, *, path: Path | str, column: str) -> None:
    """One line naming the class names that cannot be written (`class_name_problems`)."""
    problems = class_name_problems(classes)
    if problems:
        raise XnetError(
            f"{path}: label column '{column}': {'; '.join(problems)}; rename the class with "
            f"`label_map: {{<as written>: <new name>}}` in the data YAML (or fix the file)"
        )


def apply_filters(frame: pd.DataFrame, filters: Mapping, *, name: str) -> pd.DataFrame:
    """Quality cuts `{canonical: {min: a, max: b}}`; rows where the column is missing are kept."""
    for column, bounds in dict(filters).items():
        if column not in frame.columns:
            raise XnetError(f"data '{name}': filter on '{column}', which the catalog does not map")
        values = frame[column]
        keep = pd.Series(True, index=frame.index)
        if bounds.get("min") is not None:
            keep &= ~(values < float(bounds["min"]))
        if bounds.get("max") is not None:
            keep &= ~(values > float(bounds["max"]))
        if (~keep).any():
            log.info(
                "data '%s': filter %s %s removes %d sources",
                name,
                column,
                dict(bounds),
                int((~keep).sum()),
            )
        frame = frame[keep]
    return frame


def select_classes(
    frame: pd.DataFrame, classes: Sequence[str] | None, *, path: Path, label: str
) -> pd.DataFrame:
    """Keep only the listed classes; a name the file does not contain is an error."""
    if not classes:
        return frame
    known = set(frame[LABEL])
    unknown = [c for c in classes if c not in known]
    if unknown:
        raise XnetError(
            f"{path}: unknown class {', '.join(map(repr, unknown))} in data.classes; "
            f"classes in column '{label}': {', '.join(sorted(known))}"
        )
    return frame[frame[LABEL].isin(list(classes))]
