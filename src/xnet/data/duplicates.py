"""Duplicate sources in a labelled catalog, and the groups that keep every copy of a source on one
side of a split.

Two kinds are reported (one warning, and `duplicates` in metrics.json): rows whose id appears on
another row (the same source listed twice), and rows identical in every model feature to another
row. Groups are the catalog's id; a row without an id is grouped with the rows whose features it
repeats exactly. Rows identical in features but with different ids stay separate sources (in the
bundled XMM slice, 51 distinct sources share their few measured values with another source).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Duplicates:
    """What `find_duplicates` saw; `groups` is None when every source is its own group (the splits
    are then exactly the ungrouped stratified ones)."""

    groups: np.ndarray | None
    n_rows_duplicate_id: int = 0  # rows whose id appears on another row
    n_ids_repeated: int = 0  # distinct ids that appear more than once
    n_rows_identical_features: int = 0  # rows identical in every feature to another row
    examples: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.n_rows_duplicate_id or self.n_rows_identical_features)

    def summary(self) -> dict:
        return {
            "rows_with_duplicate_id": self.n_rows_duplicate_id,
            "ids_repeated": self.n_ids_repeated,
            "rows_identical_in_every_feature": self.n_rows_identical_features,
            "grouped_splits": self.groups is not None,
            "n_groups": int(len(np.unique(self.groups))) if self.groups is not None else None,
            "examples": self.examples,
        }

    def message(self, catalog: str) -> str:
        parts = []
        if self.n_rows_duplicate_id:
            parts.append(
                f"{self.n_rows_duplicate_id} rows share their id with another row "
                f"({self.n_ids_repeated} ids repeated)"
            )
        if self.n_rows_identical_features:
            parts.append(
                f"{self.n_rows_identical_features} rows are identical in every feature to "
                "another row"
            )
        how = (
            "splits keep all rows of an id (or, without an id, of identical features) on one side"
            if self.groups is not None
            else "their ids differ, so they are split as separate sources"
        )
        examples = "; ".join(self.examples)
        return f"{catalog}: duplicate sources: {'; '.join(parts)}; {how} (e.g. {examples})"


def find_duplicates(ids: pd.Series, x: np.ndarray, n_examples: int = 3) -> Duplicates:
    """Duplicate ids and identical feature rows among the labelled rows, and the split groups."""
    ids = pd.Series(ids).reset_index(drop=True)
    text = (
        ids.astype(object)
        .where(ids.notna(), None)
        .map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
    )
    features = pd.DataFrame(x)
    identical = features.duplicated(keep=False).to_numpy()
    fingerprint = pd.util.hash_pandas_object(features, index=False).astype(str)
    key = text.where(text.notna(), "features:" + fingerprint)
    codes, uniques = pd.factorize(key)
    has_id = text.notna().to_numpy()
    repeated_id = has_id & text.duplicated(keep=False).to_numpy()
    examples = []
    for value in pd.unique(text[repeated_id])[:n_examples]:
        examples.append(f"id {value} x{int((text == value).sum())}")
    for value in pd.unique(fingerprint[identical & ~repeated_id])[: n_examples - len(examples)]:
        twins = np.flatnonzero((fingerprint == value).to_numpy())
        names = [text[t] if text[t] is not None else f"row {t}" for t in twins[:3]]
        examples.append(
            f"identical features: {', '.join(names)}{', ...' if len(twins) > 3 else ''}"
        )
    grouped = len(uniques) < len(key)
    return Duplicates(
        groups=codes.astype(np.int64) if grouped else None,
        n_rows_duplicate_id=int(repeated_id.sum()),
        n_ids_repeated=int(pd.unique(text[repeated_id]).size),
        n_rows_identical_features=int(identical.sum()),
        examples=examples,
    )
