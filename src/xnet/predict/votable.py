"""Prediction tables as BINARY2 VOTables, as fast as the Parquet writer.

astropy writes the document: the FIELDs (datatype, unit, UCD, DESCRIPTION), the provenance PARAMs
and the table's description. Its BINARY2 row writer converts every cell in Python (about a
minute for 200,000 rows of 17 columns), so the rows are encoded here instead, in one vectorised
pass: per row the null-flag bits, then each cell big-endian, which is what BINARY2 is (VOTable 1.4,
section 5.5). astropy encodes the first row as well, and the file is written only if both
encodings of it agree; otherwise astropy writes every row (`benchmarks/table_write.py` times both).
"""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger("xnet.predict.job")

#: numpy kind and size -> VOTable datatype, for the columns a prediction table holds
DATATYPES = {
    ("f", 8): "double",
    ("f", 4): "float",
    ("i", 2): "short",
    ("i", 4): "int",
    ("i", 8): "long",
    ("u", 1): "unsignedByte",
    ("b", 1): "boolean",
}
STREAM_OPEN, STREAM_CLOSE = b'<STREAM encoding="base64">', b"</STREAM>"


def field_type(column) -> dict[str, str] | None:
    """FIELD datatype and arraysize of a column; None for a type not encoded here."""
    dtype = column.dtype
    if dtype.kind == "U":
        return {"datatype": "unicodeChar", "arraysize": str(max(1, dtype.itemsize // 4))}
    if dtype.kind == "S":
        return {"datatype": "char", "arraysize": str(max(1, dtype.itemsize))}
    datatype = DATATYPES.get((dtype.kind, dtype.itemsize))
    return None if datatype is None or column.ndim != 1 else {"datatype": datatype}


def cells(column, datatype: str, size: int) -> np.ndarray:
    """The column's cells as BINARY2 stores them: fixed-size big-endian values."""
    values = np.ma.getdata(column)
    if datatype == "boolean":
        return np.where(values, b"T", b"F").astype("S1")
    if datatype == "unicodeChar":
        return utf16(values, size)
    if datatype == "char":
        return values.astype(f"S{size}")
    return values.astype(np.dtype(values.dtype.str.replace("<", ">").replace("=", ">")))


def utf16(values: np.ndarray, size: int) -> np.ndarray:
    """Fixed-size UTF-16 (big-endian) text, `size` characters padded with zeros. numpy holds text
    as one 32-bit code point per character: below U+10000 (and outside the surrogates) UTF-16 is
    the same numbers in 16 bits, so the whole column converts at once; otherwise per value."""
    points = np.ascontiguousarray(values, dtype=f"U{size}").view(np.uint32).reshape(-1, size)
    if points.size and (points.max() >= 0xD800):
        return np.char.encode(values, "utf-16-be").astype(f"S{2 * size}")
    return points.astype(">u2").view(f"S{2 * size}").reshape(-1)


def binary2_rows(out, types: list[dict[str, str]]) -> bytes:
    """Every row of `out`: the null flags (first column in the most significant bit), then the
    cells, packed."""
    n = len(out)
    flags = np.zeros((n, (len(types) + 7) // 8), np.uint8)
    parts = [flags]
    for j, (name, kind) in enumerate(zip(out.colnames, types)):
        mask = np.ma.getmaskarray(out[name])
        flags[mask, j // 8] |= np.uint8(0x80 >> (j % 8))
        parts.append(cells(out[name], kind["datatype"], int(kind.get("arraysize", 1))))
    record = np.dtype(
        [("flags", np.uint8, flags.shape[1])]
        + [(f"c{i}", p.dtype) for i, p in enumerate(parts[1:])]
    )
    rows = np.empty(n, record)
    rows["flags"] = flags
    for i, part in enumerate(parts[1:]):
        rows[f"c{i}"] = part
    return rows.tobytes()


def document(out, types, provenance: dict[str, tuple[str, str]]) -> bytes:
    """The VOTable astropy writes for the first row of `out`: FIELDs, PARAMs, description."""
    from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile

    votable = VOTableFile()
    resource = Resource()
    votable.resources.append(resource)
    table = TableElement(votable)
    resource.tables.append(table)
    for name, kind in zip(out.colnames, types):
        column = out[name]
        ucd = (column.info.meta or {}).get("ucd")
        field = Field(votable, name=name, unit=column.info.unit, ucd=ucd, **kind)
        field.description = column.info.description
        table.fields.append(field)
    describe(votable, table, provenance)
    table.create_arrays(nrows=1)
    for name in out.colnames:
        table.array[name][0] = out[name][0]
        table.array.mask[name][0] = bool(np.ma.getmaskarray(out[name])[0])
    table.format = "binary2"
    buffer = io.BytesIO()
    votable.to_xml(buffer)
    return buffer.getvalue()


def write_votable(out, path: Path, provenance: dict[str, tuple[str, str]]) -> None:
    """`out` (an astropy Table with units, descriptions and UCDs in each column's meta) as a
    BINARY2 VOTable at `path`."""
    types = [field_type(out[name]) for name in out.colnames]
    if len(out) == 0 or None in types:
        return write_votable_astropy(out, path, provenance)
    text = document(out, types, provenance)
    head, sep, rest = text.partition(STREAM_OPEN)
    first, _, tail = rest.partition(STREAM_CLOSE)
    rows = binary2_rows(out, types)
    if not sep or base64.b64decode(first) != rows[: len(rows) // len(out)]:
        log.debug("VOTable: the first row's encodings differ; astropy writes every row")
        return write_votable_astropy(out, path, provenance)
    with open(path, "wb") as fh:
        fh.write(head + STREAM_OPEN + b"\n")
        fh.write(base64.b64encode(rows))  # one line, as astropy writes it
        fh.write(STREAM_CLOSE + tail)
    return None


def write_votable_astropy(out, path: Path, provenance: dict[str, tuple[str, str]]) -> None:
    """astropy's own BINARY2 writer for every row (slow: each cell in Python)."""
    from astropy.io.votable import from_table

    votable = from_table(out)
    element = votable.get_first_table()
    element.format = "binary2"
    describe(votable, element, provenance)
    votable.to_xml(str(path))


def describe(votable, table, provenance: dict[str, tuple[str, str]]) -> None:
    """The provenance as PARAMs (TOPCAT's table parameters) and in the table's description,
    which is what `astropy.table.Table.read` keeps (`meta["description"]`)."""
    from astropy.io.votable.tree import Param

    table.description = "xnet predictions; " + "; ".join(
        f"{what}: {value}" for value, what in provenance.values()
    )
    for key, (value, what) in provenance.items():
        param = Param(votable, name=key.lower(), datatype="char", arraysize="*", value=str(value))
        param.description = what
        table.params.append(param)
