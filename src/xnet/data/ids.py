"""Source ids as plain strings, the one form in which a checkpoint records the rows its model was
trained and validated on (`train_ids`, `val_ids`) and `xnet.predict` compares an input's ids with
them (`in_training`). Text is stripped (FITS pads it), bytes decoded, whole numbers written
without a decimal point (so SRCID 201 matches whether read as int, float or text)."""

from __future__ import annotations

import numpy as np


def _one(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value).strip() or None


def id_strings(values) -> list[str | None]:
    """The values of an id column as stripped strings (None where missing)."""
    return [_one(v) for v in np.asarray(values, dtype=object)]


def known_rows(values, ids: set[str]) -> np.ndarray:
    """Boolean mask: which of `values` (an id column) are among `ids`."""
    return np.fromiter((v is not None and v in ids for v in id_strings(values)), dtype=bool, count=len(values))
