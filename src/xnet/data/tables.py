"""Reading tables (CSV, FITS, Parquet), chunk by chunk, only the columns asked for.

One reader: `iter_table_chunks` reads a table's columns a chunk at a time (FITS memory-mapped by
`xnet.data.fitsfile`, so a million-row catalog costs memory for one chunk only); `read_table`, the
whole table as a DataFrame for training, is that reader run to the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from xnet.data.csvfile import check_tail, compression, encoding_error, read_header
from xnet.data.fitsfile import fits_chunks, fits_header
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
    """A table file's header: its columns (as spelled in the file) and, where the header says,
    rows."""

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
                f"{self.path}: column '{name}' appears {len(matches)} times "
                f"({', '.join(map(repr, matches))}); rename the duplicates in the file"
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
            return _csv_info(path, kind, encoding, delimiter)
        if kind in ("fits", "fit", "fts"):
            columns, n_rows, index, note = fits_header(path)
            return TableInfo(path, "fits", columns, n_rows, index, note=note)
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
    except Exception as err:  # astropy, pyarrow and pandas each raise their own for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{path}: cannot be read as {kind.upper()} ({reason})") from None
    compression(path)  # an Excel workbook says so
    raise XnetError(f"{path}: unknown file type '.{kind}'; use .csv, .fits or .parquet")


def _csv_info(path: Path, kind: str, encoding: str | None, delimiter: str | None) -> TableInfo:
    """A CSV (or TSV) file's header as written, its compression, and a check of its last line."""
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
            compressed = info.path.name.lower().endswith(COMPRESSION_SUFFIXES)
            for rows, values in fits_chunks(
                info.path, info.hdu, columns, chunk_rows, compressed=compressed
            ):
                yield TableChunk(rows, values)
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
