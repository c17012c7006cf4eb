"""Prediction tables, written by extension (Parquet, CSV, FITS or VOTable) chunk by chunk and
atomically (the output's checks before any work: `xnet.predict.output`).

Rows go to a hidden temporary file in the target folder, which replaces the target only once the
last chunk is written: an interrupted or failed run never leaves a partial or clobbered output.
Parquet and CSV are streamed, by a writer thread: a chunk is written (Arrow releases the GIL) while
the next one is classified, with at most one chunk waiting. FITS and VOTable need their row count
up front, so their chunks are kept (as compact Arrow columns) and written at the end, with each
column's unit, description and UCD and the run's provenance, so that both
`astropy.table.Table.read` and TOPCAT show them (`write_fits`, `xnet.predict.votable`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from xnet.errors import XnetError
from xnet.files import publish, remove_stale_temporaries, temporary_beside
from xnet.predict.output import output_kind, write_failed

log = logging.getLogger("xnet.predict.job")

#: written whole at the end by astropy (row count first)
ASTROPY_KINDS = ("fits", "votable")


@contextlib.contextmanager
def terminate_as_exit():
    """While predicting, SIGTERM ends the process as an exception does (exit status 143), so that
    the partial output is removed on the way out."""

    def handler(signum, frame):
        import sys

        print("xnet: terminated; nothing written", file=sys.stderr)
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _decoded_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]
    )


def _decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary-encoded columns as plain strings (for CSV and FITS)."""
    arrays = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


class TableWriter:
    """`with TableWriter(path, overwrite) as w: w.write(batch)`; the file appears when the block
    ends without an exception."""

    def __init__(
        self,
        path: Path,
        overwrite: bool = False,
        meta: dict[str, tuple] | None = None,
        provenance: dict[str, tuple[str, str]] | None = None,
    ):
        """For FITS and VOTable outputs: `meta` {column: (unit or None, description[, UCD])} and
        `provenance` {FITS keyword: (value, what it is)}."""
        self.path, self.overwrite, self.meta = Path(path), overwrite, dict(meta or {})
        self.provenance = dict(provenance or {})
        self.kind = output_kind(self.path)
        for stale in remove_stale_temporaries(self.path, suffix=".part"):
            log.info("removed %s, the partial file of an interrupted run", stale)
        self.tmp = temporary_beside(self.path, suffix=".part")
        self.schema: pa.Schema | None = None
        self._writer = None
        self._batches: list[pa.RecordBatch] = []
        self.rows = 0
        self._thread: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Write `batch` (in the writer thread for Parquet and CSV, once the previous one is done;
        a failure of either is raised here or by `close`)."""
        self._wait()
        if self.kind in ASTROPY_KINDS:
            self._checked(self._write, batch)
            return
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="xnet-writer")
        self._pending = self._thread.submit(self._write, batch)

    def _wait(self) -> None:
        """Wait for the batch in the writer thread; its failure as `write_failed`."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._checked(pending.result)

    def _checked(self, func, *args):
        try:
            return func(*args)
        except OSError as err:
            raise write_failed(self.path, err) from None

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def _write(self, batch: pa.RecordBatch) -> None:
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
            self._batches.append(batch)  # class and flag columns stay dictionary-encoded
        self.rows += batch.num_rows

    def _open(self) -> None:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            dictionary = [f.name for f in self.schema if pa.types.is_dictionary(f.type)]
            self._writer = pq.ParquetWriter(
                self.tmp, self.schema, compression="snappy", use_dictionary=dictionary
            )
        elif self.kind == "csv":
            from pyarrow import csv

            self._writer = csv.CSVWriter(str(self.tmp), _decoded_schema(self.schema))

    def close(self) -> Path:
        """Finish the file and move it into place."""
        self._wait()
        self._stop_thread()
        return self._checked(self._close)

    def _close(self) -> Path:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.kind in ASTROPY_KINDS:
            self._write_astropy()
        if self.path.exists() and not self.overwrite:  # appeared while we were working
            raise XnetError(f"output={self.path}: file exists; pass overwrite=true to replace it")
        return publish(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._wait()
        except Exception:  # already failing; the temporary file goes either way
            pass
        self._stop_thread()
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # already failing; the temporary file goes either way
                pass
            self._writer = None
        self.tmp.unlink(missing_ok=True)

    def _write_astropy(self) -> None:
        table = pa.Table.from_batches(self._batches, schema=self.schema).unify_dictionaries()
        self._batches = []
        out = astropy_table(table, fits=self.kind == "fits")
        for name, entry in self.meta.items():
            if name in out.colnames:
                unit, description, *ucd = entry
                out[name].unit, out[name].description = unit, description
                if ucd and ucd[0]:
                    out[name].meta["ucd"] = ucd[0]
        if self.kind == "votable":
            from xnet.predict.votable import write_votable

            write_votable(out, self.tmp, self.provenance)
        else:
            write_fits(out, self.tmp, self.provenance)

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


def astropy_table(table: pa.Table, fits: bool):
    """The Arrow table as an astropy Table: text as str, nullable booleans masked; for FITS text
    as UTF-8 bytes and nullable booleans as 0/1 integers masked -1 (FITS logicals have no null)."""
    from astropy.table import MaskedColumn, Table

    columns = {}
    for name in table.column_names:
        column = table.column(name)
        kind = column.type
        if pa.types.is_dictionary(kind):  # a few words: decoded by index, not row by row
            column = column.combine_chunks() if column.num_chunks else column
            words = np.append(column.dictionary.to_numpy(zero_copy_only=False).astype(str), "")
            values = words[column.indices.fill_null(len(words) - 1).to_numpy()]
            columns[name] = utf8(values) if fits else values
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
            values = column.fill_null("").to_numpy(zero_copy_only=False).astype(str)
            columns[name] = utf8(values) if fits else values
        elif pa.types.is_boolean(kind) and column.null_count:
            mask = column.is_null().to_numpy(zero_copy_only=False)
            values = column.fill_null(False).to_numpy(zero_copy_only=False)
            if fits:
                values = values.astype(np.int16)
            columns[name] = MaskedColumn(values, mask=mask, fill_value=-1 if fits else False)
        else:
            columns[name] = column.to_numpy()
    return Table(columns)


def utf8(values: np.ndarray) -> np.ndarray:
    """Text as UTF-8 bytes for FITS: at once where it is ASCII, else value by value."""
    if not len(values):
        return np.array([], "S1")
    try:
        return values.astype("S")
    except UnicodeEncodeError:
        return np.char.encode(values, "utf-8")


def write_fits(out, path: Path, provenance: dict[str, tuple[str, str]]) -> None:
    """astropy's own FITS writer: units as TUNITn, and descriptions and UCDs in the header block
    astropy reads back (`Table.read` gives each column's `description`); TCOMMn and TUCDn, which
    TOPCAT shows, and the provenance keywords (with their meaning as the card comment) beside, in
    the table's header and the primary one (which has room for them: rewritten in place)."""
    from astropy.io import fits

    for i, name in enumerate(out.colnames, start=1):
        info = out[name].info
        if info.description:  # a header holds printable ASCII: other characters escaped
            out.meta[f"TCOMM{i}"] = ascii(info.description)[1:-1]
        if (info.meta or {}).get("ucd"):
            out.meta[f"TUCD{i}"] = info.meta["ucd"]
    # a card's comment says what the keyword is, where value and comment fit on the card
    cards = {
        k: (v, what) if len(str(v)) + len(what) < 60 else v for k, (v, what) in provenance.items()
    }
    out.meta.update(cards)
    out.write(path, format="fits", overwrite=True)
    with fits.open(path, mode="update") as hdus:
        hdus[0].header.update(cards)
