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
    """Boolean mask: which of `values` (an id column, NumPy or Arrow) are among `ids`, compared as
    `id_strings` makes them; vectorised with Arrow for text, bytes, integers and whole-number
    floats (prediction passes the Arrow columns it writes anyway, so text is decoded once)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = np.asarray(values)
        try:
            values = (
                pa.array(values, pa.binary()).cast(pa.string())
                if values.dtype.kind == "S"
                else pa.array(values, from_pandas=True)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed objects
            values = pa.array(id_strings(values), pa.string())
    kind = values.type
    numeric = pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_floating(kind)
    if numeric and not any(i.isdigit() for i in ids):  # a number can only be a whole-number id
        return np.zeros(len(values), bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(values)
    elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        text = values.cast(pa.int64()).cast(pa.string())
    elif (
        pa.types.is_floating(kind)
        and pc.all(pc.or_kleene(pc.is_nan(values), pc.equal(values, pc.floor(values)))).as_py()
        is not False
    ):
        text = pc.if_else(pc.is_nan(values), None, values).cast(pa.int64()).cast(pa.string())
    else:  # mixed objects, fractional floats: one value at a time
        text = pa.array(id_strings(values.to_numpy(zero_copy_only=False)), pa.string())
    found = pc.is_in(text, value_set=pa.array(sorted(ids), pa.string()))
    return found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
