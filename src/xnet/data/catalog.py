"""Catalog loading: read a CSV, FITS or Parquet table once and rename its columns to canonical ones.

A catalog is described by a data YAML (`conf/data/*.yaml`): the file, its label, id and position
columns, quality filters and the mapping `columns: {canonical: column in the file}`. Everything
after this module works on canonical names only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from xnet.errors import XnetError

log = logging.getLogger(__name__)

#: strings that mean "missing" in the published catalogs
NA_STRINGS = ["NaN", "nan", "NAN", "", "null", "NULL", "None", "--"]
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

    @property
    def classes(self) -> list[str]:
        return sorted(self.frame[LABEL].dropna().unique())


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for ext in (".csv.gz", ".fits.gz", ".fit.gz"):
        if name.endswith(ext):
            return ext.split(".")[1]
    return path.suffix.lower().lstrip(".")


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a CSV, FITS (first table HDU) or Parquet file, only `columns` where given.

    Rows that are entirely empty (trailing comma-only lines in the published CSVs) are dropped.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise XnetError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise XnetError(f"{path}: file is empty")
    kind = _suffix(path)
    wanted = list(dict.fromkeys(columns)) if columns is not None else None
    try:
        if kind in ("csv", "txt", "tsv"):
            frame = pd.read_csv(
                path,
                usecols=(lambda c: c in wanted) if wanted else None,
                na_values=NA_STRINGS,
                keep_default_na=True,
                sep="\t" if kind == "tsv" else ",",
                low_memory=False,
            )
        elif kind in ("fits", "fit", "fts"):
            frame = _read_fits(path, wanted)
        elif kind in ("parquet", "pq"):
            frame = pd.read_parquet(path, columns=None)
            if wanted:
                frame = frame[[c for c in frame.columns if c in wanted]]
        else:
            raise XnetError(f"{path}: unknown file type '.{kind}'; use .csv, .fits or .parquet")
    except XnetError:
        raise
    except pd.errors.EmptyDataError:
        raise XnetError(f"{path}: file is empty") from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise XnetError(f"{path}: cannot be read as {kind.upper()} ({err})") from None
    frame = frame.dropna(how="all").reset_index(drop=True)
    if frame.empty and len(frame.columns):  # no wanted column at all: the caller names them
        raise XnetError(f"{path}: holds no data rows")
    return frame


def _read_fits(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """First binary-table HDU via astropy; case-insensitive column match (FITS names are upper case)."""
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path, memmap=True) as hdul:
        index = next((i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
        if index is None:
            raise XnetError(f"{path}: FITS file has no table HDU")
        names = hdul[index].columns.names
    if columns is not None:
        lower = {n.lower(): n for n in names}
        names = [lower[c.lower()] for c in columns if c.lower() in lower]
    table = Table.read(path, hdu=index, memmap=True)[names]
    data = {}
    for name in names:
        col = table[name]
        values = np.asarray(col.filled(np.nan) if hasattr(col, "filled") and col.dtype.kind == "f" else col)
        if hasattr(col, "mask") and col.dtype.kind != "f" and np.any(col.mask):
            values = np.where(col.mask, None, values.astype(object))
        if values.dtype.kind == "S":
            values = values.astype(str)
        if values.dtype.byteorder not in ("=", "|"):
            values = values.astype(values.dtype.newbyteorder("="))
        data[name] = values
    return pd.DataFrame(data)


def to_numeric(values: pd.Series, *, path: Path, column: str, canonical: str) -> pd.Series:
    """Float column from numbers, t/f flags or text; non-numeric text is an error naming the value."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype(object).where(values.notna(), None)
    stripped = text.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    present = stripped.dropna()
    present = present[~present.isin([s.lower() for s in NA_STRINGS])]
    if len(present) and present.map(lambda v: isinstance(v, str) and v in FLAG_VALUES).all():
        return stripped.map(lambda v: FLAG_VALUES.get(v, np.nan) if isinstance(v, str) else np.nan).astype(float)
    numbers = pd.to_numeric(stripped.where(~stripped.isin([s.lower() for s in NA_STRINGS])), errors="coerce")
    bad = numbers.isna() & stripped.notna() & ~stripped.isin([s.lower() for s in NA_STRINGS])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise XnetError(
            f"{path}: column '{column}' (feature input '{canonical}') holds non-numeric text "
            f"{text.iloc[row]!r} in data row {int(values.index[row]) + 1}; fix the value or map another column"
        )
    return numbers.astype(float)


def load_catalog(data_cfg: Mapping, *, labelled: bool = True) -> Catalog:
    """Read the catalog a data YAML describes into canonical columns, with its filters applied."""
    name = data_cfg.get("name", "catalog")
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
    mapping = {str(k): str(v) for k, v in dict(data_cfg.get("columns") or {}).items()}
    special = {SOURCE_ID: data_cfg.get("id"), RA: data_cfg.get("ra"), DEC: data_cfg.get("dec")}
    special = {k: str(v) for k, v in special.items() if v}
    label = data_cfg.get("label")
    if labelled and not label:
        raise XnetError(f"data config '{name}' has no 'label' column; set data.label=<column>")
    wanted = list(mapping.values()) + list(special.values()) + ([str(label)] if labelled else [])
    raw = read_table(path, wanted)

    present = set(raw.columns)
    if labelled and label not in present:
        raise XnetError(f"{path}: label column '{label}' not found (data '{name}'); set data.label=<column>")
    missing = [f"'{col}' (for {canon})" for canon, col in {**special, **mapping}.items() if col not in present]
    if missing:
        raise XnetError(
            f"{path}: column {', '.join(missing)} not found; fix the mapping in data config '{name}'"
        )

    frame = pd.DataFrame(index=raw.index)
    if SOURCE_ID in special:
        frame[SOURCE_ID] = raw[special[SOURCE_ID]].astype(object).to_numpy()
    for key in (RA, DEC):
        if key in special:
            frame[key] = to_numeric(raw[special[key]], path=path, column=special[key], canonical=key)
    for canon, col in mapping.items():
        frame[canon] = to_numeric(raw[col], path=path, column=col, canonical=canon)
    if labelled:
        frame[LABEL] = label_values(raw[label])
        unlabelled = int(frame[LABEL].isna().sum())
        if unlabelled:
            log.warning("%s: %d rows without a class in '%s' are left out", path.name, unlabelled, label)
            frame = frame[frame[LABEL].notna()]
    frame = apply_filters(frame, data_cfg.get("filters") or {}, name=name)
    if labelled:
        frame = select_classes(frame, data_cfg.get("classes"), path=path, label=str(label))
    if frame.empty:
        raise XnetError(f"{path}: no sources left after the filters and class selection of data '{name}'")
    return Catalog(name=name, path=path, frame=frame.reset_index(drop=True), columns=mapping)


def label_values(values: pd.Series) -> np.ndarray:
    """Class labels as stripped strings, None where missing (empty or an NA spelling)."""
    labels = values.astype(object).where(values.notna(), None)
    labels = labels.map(lambda v: str(v).strip() if v is not None else None)
    return labels.where(labels.map(lambda v: bool(v) and v not in NA_STRINGS), None).to_numpy(dtype=object)


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
            log.info("data '%s': filter %s %s removes %d sources", name, column, dict(bounds), int((~keep).sum()))
        frame = frame[keep]
    return frame


def select_classes(frame: pd.DataFrame, classes: Sequence[str] | None, *, path: Path, label: str) -> pd.DataFrame:
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


# --- chunked reading, for prediction over whole catalogs (millions of rows, bounded memory) -----


@dataclass
class TableInfo:
    """A table file's header: its columns (as spelled in the file) and, where the header says, rows."""

    path: Path
    kind: str  # csv, tsv, fits or parquet
    columns: list[str]
    n_rows: int | None  # None for CSV: unknown until read
    hdu: int | None = None  # FITS: index of the first table HDU

    def find(self, name: str) -> str | None:
        """The file's spelling of column `name`: exact, else case-insensitive (FITS names are upper case)."""
        if name in self.columns:
            return name
        lower = {c.lower(): c for c in self.columns}
        return lower.get(str(name).lower())


@dataclass
class TableChunk:
    """Consecutive rows of a table: their 0-based data-row numbers and the requested columns."""

    rows: np.ndarray
    columns: dict[str, np.ndarray]  # file column name -> values (numbers, bool, bytes or objects)


def table_info(path: str | Path) -> TableInfo:
    """Column names and row count from the header alone (no data read)."""
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
            header = pd.read_csv(path, nrows=0, sep="\t" if kind == "tsv" else ",")
            return TableInfo(path, "tsv" if kind == "tsv" else "csv", [str(c) for c in header.columns], None)
        if kind in ("fits", "fit", "fts"):
            from astropy.io import fits

            with fits.open(path, memmap=True) as hdul:
                index = next((i for i, h in enumerate(hdul) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))), None)
                if index is None:
                    raise XnetError(f"{path}: FITS file has no table HDU; xnet reads the first binary or ASCII table")
                hdu = hdul[index]
                return TableInfo(path, "fits", list(hdu.columns.names), int(hdu.header.get("NAXIS2", 0)), index)
        if kind in ("parquet", "pq"):
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return TableInfo(path, "parquet", list(meta.schema.to_arrow_schema().names), int(meta.num_rows))
    except XnetError:
        raise
    except pd.errors.EmptyDataError:
        raise XnetError(f"{path}: file is empty") from None
    except Exception as err:  # astropy, pyarrow and pandas each raise their own types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{path}: cannot be read as {kind.upper()} ({reason})") from None
    raise XnetError(f"{path}: unknown file type '.{kind}'; use .csv, .fits or .parquet")


def iter_table_chunks(
    info: TableInfo, columns: Sequence[str], chunk_rows: int, *, text: Sequence[str] = ()
) -> Iterator[TableChunk]:
    """The `columns` (file spellings) of the table, `chunk_rows` rows at a time.

    FITS is memory-mapped through astropy and each chunk's pages are handed back to the OS once
    copied, so a file of any width costs memory for the chunk only. CSV rows that are entirely
    empty are skipped (as `read_table` does); `text` columns are read from CSV as strings.
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
    except (OSError, ValueError, pd.errors.ParserError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise XnetError(f"{info.path}: cannot be read as {info.kind.upper()} ({reason})") from None


def _csv_chunks(info: TableInfo, columns: list[str], chunk_rows: int, text: Sequence[str]) -> Iterator[TableChunk]:
    reader = pd.read_csv(
        info.path,
        usecols=columns,
        dtype={c: str for c in text if c in columns},
        na_values=NA_STRINGS,
        keep_default_na=True,
        sep="\t" if info.kind == "tsv" else ",",
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
            np.arange(start, start + n), {c: batch.column(c).to_numpy(zero_copy_only=False) for c in columns}
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

    if info.path.name.lower().endswith(".gz"):  # compressed: cannot be mapped
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
        raise XnetError(f"{info.path}: table rows are {row_bytes} bytes but its columns add up to {record.itemsize}; the file is damaged")
    block = max(1, _FITS_BLOCK_BYTES // max(row_bytes, 1))
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        out = {name: np.empty(stop - start, record[name].newbyteorder("=")) for name in columns}
        for first in range(start, stop, block):
            last = min(first + block, stop)
            rows = np.memmap(info.path, dtype=record, mode="r", offset=offset + first * row_bytes, shape=(last - first,))
            for name in columns:
                out[name][first - start : last - start] = rows[name]
            del rows  # unmapped: these pages leave our memory
        yield TableChunk(np.arange(start, stop), {name: _fits_values(out[name], *fields[name]) for name in columns})


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
        if letter in "BIJK" and scale == 1 and float(zero).is_integer() and values.dtype.kind in "iu":
            # unsigned integers stored signed (TZERO 2**15, 2**31, 2**63; -128 for signed bytes)
            unsigned = {"I": np.uint16, "J": np.uint32, "K": np.uint64}.get(letter)
            if unsigned is not None and int(zero) == 2 ** (8 * raw.dtype.itemsize - 1):
                return (raw.view(unsigned) ^ unsigned(int(zero))).astype(unsigned)
            return values.astype(np.int64) + int(zero)
        values = values.astype(float) * scale + float(zero)
    return values


def _fits_chunks_in_memory(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[TableChunk]:
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
