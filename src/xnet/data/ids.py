"""Source ids as plain strings, the one form in which a checkpoint records the rows its model was
trained and validated on (`train_ids`, `val_ids`) and `xnet.predict` compares an input's ids with
them (`in_training`). Text is stripped (FITS pads it), bytes decoded, and a number is written in
one canonical form whatever form the file gave it: SRCID 201 matches whether it was read as an
integer, a float or text (`201`, `201.0`, `2.01e2`, `+201`, `0201`); a fractional number is its
shortest float `repr` (`1.50` -> `1.5`). Ids that are not numbers compare as stripped text."""

from __future__ import annotations

import re

import numpy as np

#: text that is a number (decimal or exponent form), surrounding spaces already stripped
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
#: Arrow regex: text that may be a number not in canonical integer form (checked in Python)
_MAYBE_ODD_NUMBER = r"^([+]|-?0\d|-?\d*[.eE]|-?\.)[0-9.eE+-]*$"


def _number_text(text: str) -> str:
    """The canonical form of numeric text (`_NUMBER`); integers exactly, however long."""
    if _INTEGER.match(text):
        return str(int(text))
    value = float(text)
    if not np.isfinite(value):
        return text
    return str(int(value)) if value.is_integer() else repr(value)


def _one(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        return _number_text(value) if _NUMBER.match(value) else value
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        if not np.isfinite(value):
            return repr(float(value))
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return _one(str(value))


def id_strings(values) -> list[str | None]:
    """The values of an id column as canonical strings (None where missing)."""
    return [_one(v) for v in np.asarray(values, dtype=object)]


def canonical_ids(ids) -> set[str]:
    """A set of recorded ids in the canonical form (checkpoints written before ids were
    canonical recorded numeric text as written)."""
    return {i for i in map(_one, ids) if i is not None}


def _arrow_text(values, numbers: bool = True):
    """An Arrow id column as canonical text (vectorised where Arrow can: text, integers and whole
    floats that fit in 64 bits; one value at a time for the rest). `numbers`: whether numeric text
    needs its canonical form (not when no recorded id is a number: text then compares as text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(values)
        if not numbers:
            return text
        odd = pc.match_substring_regex(text, _MAYBE_ODD_NUMBER).fill_null(False)
        if not pc.any(odd).as_py():
            return text
        fixed = [_one(v) for v in pc.filter(text, odd).to_pylist()]
        return pc.replace_with_mask(text, odd, pa.array(fixed, text.type))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return values.cast(pa.int64()).cast(pa.string())
    if pa.types.is_floating(kind):
        finite = pc.and_(pc.is_finite(values), pc.less(pc.abs(values), 2.0**62))
        whole = pc.or_kleene(pc.is_nan(values), pc.and_(finite, pc.equal(values, pc.floor(values))))
        if pc.all(whole).as_py() is not False:
            return pc.if_else(pc.is_nan(values), None, values).cast(pa.int64()).cast(pa.string())
    return pa.array(id_strings(values.to_numpy(zero_copy_only=False)), pa.string())


_last: tuple = (None, False)  # (the id set asked about last, whether it holds a number)


def _has_numbers(ids: set[str]) -> bool:
    """Whether any recorded id is a number (asked once per set: prediction passes the same set
    for every chunk)."""
    global _last
    if _last[0] is not ids:
        _last = (ids, any(_NUMBER.match(i) for i in ids))
    return _last[1]


def known_rows(values, ids: set[str]) -> np.ndarray:
    """Boolean mask: which of `values` (an id column, NumPy or Arrow) are among `ids` (canonical,
    `canonical_ids`), compared in the canonical form of `id_strings`; vectorised with Arrow for
    text, bytes, integers and whole-number floats (prediction passes the Arrow columns it writes
    anyway, so text is decoded once)."""
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
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    kind = values.type
    numbers = _has_numbers(ids)
    numeric = pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_floating(kind)
    if numeric and not numbers:  # a number can only be a numeric id
        return np.zeros(len(values), bool)
    found = pc.is_in(_arrow_text(values, numbers), value_set=pa.array(sorted(ids), pa.string()))
    return found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
