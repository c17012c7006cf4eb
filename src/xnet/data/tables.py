"""Reading tables (CSV, FITS, Parquet), chunk by chunk, only the columns asked for.

One reader: `iter_table_chunks` reads a table's columns a chunk at a time (FITS memory-mapped, so
a million-row catalog costs memory for one chunk only); `read_table`, the whole table as a
DataFrame for training, is that reader run to the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.data.csvfile import check_tail, compression, encoding_error, read_header
from xnet.errors import XnetError

#: strings that mean "missing" in the published catalogs
NA_STRINGS = ["NaN", "nan", "NAN", "", "null", "NULL", "None", "--"]
#: rows per chunk when a whole table is read
WHOLE_TABLE_CHUNK = 1 << 20


#: compression suffixes after a table's own (`cat.csv.gz`, `cat.fits.bz2`)
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")


def _suffix(path: Path) -> str:
    """The table type a file name says, past a compression suffix."""
    name = path.name.lower()
    for ext in COMPRESSION_SUFFIXES:
        if name.endswith(ext) and "." in name[: -len(ext)]:
            name = name[: -len(ext)]
            break
    return name.rsplit(".", 1)[-1] if "." in name else ""


@dataclass
class TableInfo:
    """A table file's header: its columns (as spelled in the file) and, where the header says, rows."""

    path: Path
    kind: str  # csv, tsv, fits or parquet
    columns: list[str]
    n_rows: int | None  # None for CSV: unknown until read
    hdu: int | None = None  # FITS: index of the first table HDU
    encoding: str | None = None  # CSV: the data YAML's `encoding` (None: utf-8)
    delimiter: str | None = None  # CSV: the data YAML's `delimiter` (None: ',' or tab for .tsv)
    compression: str | None = None  # CSV: gzip, bz2, xz or zip, from the file's first bytes
    note: str | None = None  # said once (log, metrics.json): e.g. which of several FITS tables

    def find(self, name: str) -> str | None:
        """The file's spelling of column `name`. One rule for training and prediction: names match
        case-insensitively (FITS names are upper case); a name the file holds twice (or in two
        cases) is an error naming it, never silently the first."""
        matches = [c for c in self.columns if c.lower() == str(name).lower()]
        if len(matches) > 1:
            raise XnetError(
                f"{self.path}: column '{name}' appears {len(matches)} times ({', '.join(map(repr, matches))}); "
                f"rename the duplicates in the file"
            )
        return matches[0] if matches else None

    def seen(self, limit: int = 40) -> str:
        """The file's columns, for messages."""
        more = f", ... ({len(self.columns)} in all)" if len(self.columns) > limit else ""
        return ", ".join(self.columns[:limit]) + more


@dataclass
class TableChunk:
    """Consecutive rows of a table: their 0-based data-row numbers and the requested columns."""

    rows: np.ndarray
    columns: dict[str, np.ndarray]  # file column name -> values (numbers, bool, bytes or objects)


def table_info(
    path: str | Path, encoding: str | None = None, delimiter: str | None = None
) -> TableInfo:
    """Column names and row count from the header alone (no data read; for CSV also the last line,
    to catch a file cut short). `encoding` and `delimiter` apply to CSV (a data YAML's keys)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise XnetError(f"{path}: file not found")
    if path.is_dir():
        raise XnetError(f"{path}: is a directory; pass a catalog file (.fits, .csv or .parquet)")
    if path.stat().st_size == 0:
        raise XnetError(f"{path}: file is empty")
    kind = _suffix(path)
    try:
        if kind in ("csv", "txt", "tsv"):
            sep = delimiter or ("\t" if kind == "tsv" else ",")
            packed = compression(path)
            header = read_header(path, encoding, sep, packed)
            if not header:
                raise XnetError(f"{path}: file is empty")
            if packed is None:
                check_tail(path, len(header), encoding, sep)
            return TableInfo(
                path,
                "tsv" if kind == "tsv" else "csv",
                header,
                None,
                encoding=encoding,
                delimiter=sep,
                compression=packed,
            )
        if kind in ("fits", "fit", "fts"):
            from astropy.io import fits

            with fits.open(path, memmap=True) as hdul:
                tables = [
                    i
                    for i, h in enumerate(hdul)
                    if isinstance(h, (fits.BinTableHDU, fits.TableHDU))
                ]
                if not tables:
                    raise XnetError(
                        f"{path}: FITS file has no table HDU; xnet reads the first binary or ASCII table"
                    )
                index, hdu = tables[0], hdul[tables[0]]
                return TableInfo(
                    path,
                    "fits",
                    list(hdu.columns.names),
                    int(hdu.header.get("NAXIS2", 0)),
                    index,
                    note=_fits_tables_note(path, hdul, tables),
                )
        if kind in ("parquet", "pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return TableInfo(
                path, "parquet", list(meta.schema.to_arrow_schema().names), int(meta.num_rows)
            )
    except XnetError:
        raise
    except pd.errors.EmptyDataError:
        raise XnetError(f"{path}: file is empty") from None
    except (
        Exception
    ) as err:  # astropy, pyarrow and pandas each raise their own types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{path}: cannot be read as {kind.upper()} ({reason})") from None
    compression(path)  # an Excel workbook says so
    raise XnetError(f"{path}: unknown file type '.{kind}'; use .csv, .fits or .parquet")


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


def iter_table_chunks(
    info: TableInfo, columns: Sequence[str], chunk_rows: int, *, text: Sequence[str] = ()
) -> Iterator[TableChunk]:
    """The `columns` (file spellings) of the table, `chunk_rows` rows at a time.

    FITS is memory-mapped through astropy and each chunk's pages are handed back to the OS once
    copied, so a file of any width costs memory for the chunk only. CSV rows that are entirely
    empty are skipped; `text` columns are read from CSV as strings.
    """
    columns = list(dict.fromkeys(columns))
    chunk_rows = max(1, int(chunk_rows))
    try:
        if info.kind == "fits":
            yield from _fits_chunks(info, columns, chunk_rows)
        elif info.kind == "parquet":
            yield from _parquet_chunks(info, columns, chunk_rows)
        else:
            yield from _csv_chunks(info, columns, chunk_rows, text)
    except XnetError:
        raise
    except UnicodeDecodeError as err:
        raise encoding_error(info.path, info.encoding, err) from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{info.path}: cannot be read as {info.kind.upper()} ({reason})") from None


def _csv_chunks(
    info: TableInfo, columns: list[str], chunk_rows: int, text: Sequence[str]
) -> Iterator[TableChunk]:
    reader = pd.read_csv(
        info.path,
        usecols=columns,
        dtype={c: str for c in text if c in columns},
        na_values=NA_STRINGS,
        keep_default_na=True,
        sep=info.delimiter or ("\t" if info.kind == "tsv" else ","),
        encoding=info.encoding or "utf-8",
        compression=info.compression,
        chunksize=chunk_rows,
        low_memory=False,
    )
    with reader:
        for frame in reader:
            frame = frame.dropna(how="all")
            if len(frame):
                yield TableChunk(frame.index.to_numpy(), {c: frame[c].to_numpy() for c in columns})


def _parquet_chunks(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[TableChunk]:
    import pyarrow.parquet as pq

    start = 0
    for batch in pq.ParquetFile(info.path).iter_batches(batch_size=chunk_rows, columns=columns):
        n = batch.num_rows
        yield TableChunk(
            np.arange(start, start + n),
            {c: batch.column(c).to_numpy(zero_copy_only=False) for c in columns},
        )
        start += n


#: binary-table field formats read from the mapped records: integers, floats, text and logicals
_MAPPED_FITS_FORMATS = set("BIJKEDAL")
#: at most this many bytes of a FITS file are mapped at once
_FITS_BLOCK_BYTES = 64 << 20


def _fits_chunks(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[TableChunk]:
    """astropy parses the header and gives the record layout and data offset; the rows are then
    memory-mapped a block at a time, so only the rows being copied are in memory whatever the
    file's width. (astropy's own `hdu.data` pages in the whole file as soon as the table has a
    logical column, as the 4XMM catalogs do.) Values follow the FITS rules astropy applies:
    TSCAL/TZERO scaling, TNULL integers and undefined logicals as NaN, logicals as 1/0."""
    from astropy.io import fits

    if info.path.name.lower().endswith(COMPRESSION_SUFFIXES):  # compressed: cannot be mapped
        yield from _fits_chunks_in_memory(info, columns, chunk_rows)
        return
    with fits.open(info.path, memmap=False, lazy_load_hdus=True) as hdul:
        hdu = hdul[info.hdu]
        if not isinstance(hdu, fits.BinTableHDU):  # ASCII table: text fields, astropy converts
            yield from _fits_chunks_in_memory(info, columns, chunk_rows)
            return
        offset = int(hdul.fileinfo(info.hdu)["datLoc"])
        record = hdu.columns.dtype.newbyteorder(">")
        n_rows, row_bytes = int(hdu.header["NAXIS2"]), int(hdu.header["NAXIS1"])
        fields = {}
        for name in columns:
            col = hdu.columns[name]
            letter, repeat = col.format.format, col.format.repeat
            if letter not in _MAPPED_FITS_FORMATS or (repeat != 1 and letter != "A"):
                raise XnetError(
                    f"{info.path}: column '{name}' has FITS format '{col.format}' (arrays, bits or "
                    f"variable-length data), not single values; map a scalar column"
                )
            fields[name] = (letter, col.bscale, col.bzero, col.null)
    if record.itemsize != row_bytes:
        raise XnetError(
            f"{info.path}: table rows are {row_bytes} bytes but its columns add up to {record.itemsize}; the file is damaged"
        )
    block = max(1, _FITS_BLOCK_BYTES // max(row_bytes, 1))
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        out = {name: np.empty(stop - start, record[name].newbyteorder("=")) for name in columns}
        for first in range(start, stop, block):
            last = min(first + block, stop)
            rows = np.memmap(
                info.path,
                dtype=record,
                mode="r",
                offset=offset + first * row_bytes,
                shape=(last - first,),
            )
            for name in columns:
                out[name][first - start : last - start] = rows[name]
            del rows  # unmapped: these pages leave our memory
        yield TableChunk(
            np.arange(start, stop),
            {name: _fits_values(out[name], *fields[name]) for name in columns},
        )


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
    info: TableInfo, columns: list[str], chunk_rows: int
) -> Iterator[TableChunk]:
    """Compressed files and ASCII tables: astropy reads the table, chunks are cut from it."""
    from astropy.io import fits

    with fits.open(info.path) as hdul:
        data = hdul[info.hdu].data
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
            yield TableChunk(np.arange(start, start + len(part)), out)


def read_table(
    path: str | Path | TableInfo, columns: Sequence[str] | None = None, *, text: Sequence[str] = ()
) -> pd.DataFrame:
    """The whole table (only `columns` where given, matched by `TableInfo.find`, under the file's
    spelling) as one DataFrame: the chunked reader run to the end. Rows that are entirely empty
    (trailing comma-only lines in the published CSVs) are dropped; FITS text is decoded and
    right-trimmed; `text` columns (file spellings) are read from CSV as written, as strings."""
    info = path if isinstance(path, TableInfo) else table_info(path)
    wanted = (
        info.columns
        if columns is None
        else [info.find(c) for c in dict.fromkeys(columns) if info.find(c)]
    )
    parts: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
    for chunk in iter_table_chunks(info, wanted, WHOLE_TABLE_CHUNK, text=text):
        for name in wanted:
            parts[name].append(chunk.columns[name])
    data = {}
    for name, pieces in parts.items():
        values = np.concatenate(pieces) if pieces else np.array([], dtype=float)
        if values.dtype.kind == "S":
            values = np.char.rstrip(np.char.decode(values, "utf-8", "replace")).astype(object)
        data[name] = values
    frame = pd.DataFrame(data).dropna(how="all").reset_index(drop=True)
    if frame.empty and len(frame.columns):  # no wanted column at all: the caller names them
        raise XnetError(f"{info.path}: holds no data rows")
    return frame
