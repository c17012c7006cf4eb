"""Reading a FITS table: the header through astropy, the rows of a binary table memory-mapped a
block at a time (compressed files and ASCII tables through astropy's own reader).

Used by `xnet.data.tables`, which gives training and prediction one chunked reader for every
table type. Values follow the FITS rules astropy applies: TSCAL/TZERO scaling, TNULL integers and
undefined logicals as NaN, logicals as 1/0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from xnet.errors import XnetError

#: binary-table field formats read from the mapped records: integers, floats, text and logicals
_MAPPED_FITS_FORMATS = set("BIJKEDAL")
#: at most this many bytes of a FITS file are mapped at once
_FITS_BLOCK_BYTES = 64 << 20

#: a chunk: 0-based data-row numbers and {column: values}
Rows = tuple[np.ndarray, dict[str, np.ndarray]]


def fits_header(path: Path) -> tuple[list[str], int, int, str | None]:
    """(columns, rows, index of the first table HDU, a note when the file holds several tables)."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        tables = [i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
        if not tables:
            raise XnetError(
                f"{path}: FITS file has no table HDU; xnet reads the first binary or ASCII table"
            )
        index, hdu = tables[0], hdul[tables[0]]
        columns, n_rows = list(hdu.columns.names), int(hdu.header.get("NAXIS2", 0))
        return columns, n_rows, index, _fits_tables_note(path, hdul, tables)


def _fits_tables_note(path: Path, hdul, tables: list[int]) -> str | None:
    """Which table of a FITS file holding several is read (the first), said once."""
    if len(tables) < 2:
        return None
    named = [
        f"HDU {i} ({hdul[i].name or 'no EXTNAME'}, {hdul[i].header.get('NAXIS2', 0)} rows)"
        for i in tables
    ]
    return (
        f"{path}: holds {len(tables)} tables ({', '.join(named)}); xnet reads the first, "
        f"HDU {tables[0]}; to use another, write it to a file of its own"
    )


def fits_chunks(
    path: Path, hdu_index: int, columns: list[str], chunk_rows: int, *, compressed: bool
) -> Iterator[Rows]:
    """astropy parses the header and gives the record layout and data offset; the rows are then
    memory-mapped a block at a time, so only the rows being copied are in memory whatever the
    file's width. (astropy's own `hdu.data` pages in the whole file as soon as the table has a
    logical column, as the 4XMM catalogs do.)"""
    from astropy.io import fits

    if compressed:  # cannot be mapped
        yield from _fits_chunks_in_memory(path, hdu_index, columns, chunk_rows)
        return
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
        hdu = hdul[hdu_index]
        if not isinstance(hdu, fits.BinTableHDU):  # ASCII table: text fields, astropy converts
            yield from _fits_chunks_in_memory(path, hdu_index, columns, chunk_rows)
            return
        offset = int(hdul.fileinfo(hdu_index)["datLoc"])
        record = hdu.columns.dtype.newbyteorder(">")
        n_rows, row_bytes = int(hdu.header["NAXIS2"]), int(hdu.header["NAXIS1"])
        fields = {name: _scalar_field(path, hdu.columns[name], name) for name in columns}
    if record.itemsize != row_bytes:
        raise XnetError(
            f"{path}: table rows are {row_bytes} bytes but its columns add up to "
            f"{record.itemsize}; the file is damaged"
        )
    block = max(1, _FITS_BLOCK_BYTES // max(row_bytes, 1))
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        out = {name: np.empty(stop - start, record[name].newbyteorder("=")) for name in columns}
        for first in range(start, stop, block):
            last = min(first + block, stop)
            rows = np.memmap(
                path,
                dtype=record,
                mode="r",
                offset=offset + first * row_bytes,
                shape=(last - first,),
            )
            for name in columns:
                out[name][first - start : last - start] = rows[name]
            del rows  # unmapped: these pages leave our memory
        yield (
            np.arange(start, stop),
            {name: _fits_values(out[name], *fields[name]) for name in columns},
        )


def _scalar_field(path: Path, col, name: str) -> tuple:
    """(format letter, TSCAL, TZERO, TNULL) of a column read from the mapped records; a column
    of arrays, bits or variable-length data is an error naming it."""
    letter, repeat = col.format.format, col.format.repeat
    if letter not in _MAPPED_FITS_FORMATS or (repeat != 1 and letter != "A"):
        raise XnetError(
            f"{path}: column '{name}' has FITS format '{col.format}' (arrays, bits or "
            f"variable-length data), not single values; map a scalar column"
        )
    return letter, col.bscale, col.bzero, col.null


def _fits_values(raw: np.ndarray, letter: str, bscale, bzero, null) -> np.ndarray:
    """A field's raw values as astropy would give them (NaN where astropy would mask)."""
    if letter == "L":
        return np.where(raw == ord("T"), 1.0, np.where(raw == ord("F"), 0.0, np.nan))
    if letter == "A":
        return raw
    values = raw
    if null is not None and letter in "BIJK":
        values = np.where(raw == null, np.nan, raw.astype(float))
    if bscale not in (None, 1) or bzero not in (None, 0):
        scale, zero = float(bscale if bscale is not None else 1), bzero if bzero is not None else 0
        if (
            letter in "BIJK"
            and scale == 1
            and float(zero).is_integer()
            and values.dtype.kind in "iu"
        ):
            # unsigned integers stored signed (TZERO 2**15, 2**31, 2**63; -128 for signed bytes)
            unsigned = {"I": np.uint16, "J": np.uint32, "K": np.uint64}.get(letter)
            if unsigned is not None and int(zero) == 2 ** (8 * raw.dtype.itemsize - 1):
                return (raw.view(unsigned) ^ unsigned(int(zero))).astype(unsigned)
            return values.astype(np.int64) + int(zero)
        values = values.astype(float) * scale + float(zero)
    return values


def _fits_chunks_in_memory(
    path: Path, hdu_index: int, columns: list[str], chunk_rows: int
) -> Iterator[Rows]:
    """Compressed files and ASCII tables: astropy reads the table, chunks are cut from it."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        data = hdul[hdu_index].data
        if data is None:
            return
        for start in range(0, len(data), chunk_rows):
            part = data[start : start + chunk_rows]
            out = {}
            for name in columns:
                values = np.asarray(part.field(name))
                if values.dtype.kind == "U":
                    values = values.astype(object)
                elif values.dtype.byteorder not in ("=", "|"):
                    values = values.astype(values.dtype.newbyteorder("="))
                out[name] = values
            yield np.arange(start, start + len(part)), out
