"""Prediction tables, written by extension (Parquet, CSV, FITS or VOTable) chunk by chunk and atomically.

Rows go to a hidden temporary file in the target folder, which replaces the target only once the
last chunk is written: an interrupted or failed run never leaves a partial or clobbered output.
Parquet and CSV are streamed; FITS and VOTable need their row count up front, so their chunks are
kept (as compact Arrow columns) and written at the end by astropy, with each column's unit and
description (FITS TUNITn/TCOMMn, VOTable FIELD unit and DESCRIPTION) for TOPCAT and friends.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from xnet.errors import XnetError
from xnet.files import publish, temporary_beside

KINDS = {"parquet": "parquet", "pq": "parquet", "csv": "csv", "fits": "fits", "fit": "fits", "fts": "fits", "vot": "votable"}
#: written whole at the end by astropy (row count first)
ASTROPY_KINDS = ("fits", "votable")


def output_kind(path: Path) -> str:
    kind = KINDS.get(path.suffix.lower().lstrip("."))
    if kind is None:
        raise XnetError(f"output={path}: unknown file type '{path.suffix}'; use .parquet, .csv, .fits or .vot")
    return kind


def check_output(path: str | Path, overwrite: bool) -> Path:
    """The output path, checked before any work: known type, existing folder, no clobbering."""
    path = Path(str(path)).expanduser()
    output_kind(path)
    if path.is_dir():
        raise XnetError(f"output={path}: is a directory; name a file such as {path / 'predictions.parquet'}")
    if not path.parent.is_dir():
        raise XnetError(f"output={path}: directory {path.parent} does not exist; create it or choose another output")
    if not os.access(path.parent, os.W_OK):
        raise XnetError(f"output={path}: directory {path.parent} is not writable")
    if path.exists() and not overwrite:
        raise XnetError(f"output={path}: file exists; pass overwrite=true to replace it")
    return path


def _decoded_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema])


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary-encoded columns as plain strings (for CSV and FITS)."""
    arrays = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class TableWriter:
    """`with TableWriter(path, overwrite) as w: w.write(batch)`; the file appears when the block ends
    without an exception."""

    def __init__(self, path: Path, overwrite: bool = False, meta: dict[str, tuple[str | None, str]] | None = None):
        """`meta`: {column: (unit or None, description)} for FITS and VOTable outputs."""
        self.path, self.overwrite, self.meta = Path(path), overwrite, dict(meta or {})
        self.kind = output_kind(self.path)
        self.tmp = temporary_beside(self.path, suffix=".part")
        self.schema: pa.Schema | None = None
        self._writer = None
        self._batches: list[pa.RecordBatch] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.schema is None:
            self.schema = batch.schema
            self._open()
        elif batch.schema != self.schema:
            batch = batch.cast(self.schema)
        if self.kind == "parquet":
            self._writer.write_batch(batch)
        elif self.kind == "csv":
            self._writer.write_batch(_decoded(batch))
        else:
            self._batches.append(_decoded(batch))
        self.rows += batch.num_rows

    def _open(self) -> None:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            dictionary = [f.name for f in self.schema if pa.types.is_dictionary(f.type)]
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="snappy", use_dictionary=dictionary)
        elif self.kind == "csv":
            from pyarrow import csv

            self._writer = csv.CSVWriter(str(self.tmp), _decoded_schema(self.schema))

    def close(self) -> Path:
        """Finish the file and move it into place."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.kind in ASTROPY_KINDS:
            self._write_astropy()
        if self.path.exists() and not self.overwrite:  # appeared while we were working
            raise XnetError(f"output={self.path}: file exists; pass overwrite=true to replace it")
        return publish(self.tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # already failing; the temporary file goes either way
                pass
            self._writer = None
        self.tmp.unlink(missing_ok=True)

    def _write_astropy(self) -> None:
        from astropy.table import Table

        table = pa.Table.from_batches(self._batches, schema=_decoded_schema(self.schema))
        self._batches = []
        columns = {}
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) or pa.types.is_binary(column.type):
                values = column.fill_null("").to_numpy(zero_copy_only=False).astype(str)
                if self.kind == "fits":
                    values = np.char.encode(values, "utf-8") if len(values) else np.array([], "S1")
                columns[name] = values
            else:
                columns[name] = column.to_numpy()
        out = Table(columns)
        for name, (unit, description) in self.meta.items():
            if name in out.colnames:
                out[name].unit, out[name].description = unit, description
        if self.kind == "votable":
            out.write(self.tmp, format="votable", overwrite=True)
            return
        from astropy.io import fits

        hdu = fits.table_to_hdu(out)
        for i, name in enumerate(out.colnames, start=1):  # TCOMMn: the column description TOPCAT shows
            if out[name].description:
                hdu.header[f"TCOMM{i}"] = out[name].description
        hdu.writeto(self.tmp, overwrite=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            try:
                self.close()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()

