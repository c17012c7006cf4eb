"""What a CSV file's bytes say before pandas reads it: its header as written (duplicates kept), its
encoding and delimiter, and whether it ends in the middle of a line (a cut download or copy).

Used by `xnet.data.tables.table_info`, so training and prediction apply the same rules.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

from xnet.errors import XnetError

log = logging.getLogger("xnet.data.tables")

#: delimiters recognised when a file is not what its settings say
_CANDIDATES = (";", "\t", "|", ",")
#: a field cut inside a number: digits, sign, point or exponent only
_NUMBERISH = re.compile(r"^[-+]?[0-9.]*[eE]?[-+]?[0-9]*$")
_TAIL_BYTES = 1 << 16


#: first bytes of the compressed files pandas reads (`compression=`)
_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls) and other Office files


def compression(path: Path) -> str | None:
    """How a CSV file is compressed, read from its first bytes whatever its name says (None:
    plain text). An Excel workbook (a zip holding xl/, or an OLE file) is one line saying so."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE):
        raise XnetError(
            f"{path}: is an Excel 97-2003 workbook (or another Microsoft Office file), not CSV "
            f"text; "
            f"save it as CSV (UTF-8) and pass that file"
        )
    kind = next((k for magic, k in _COMPRESSED.items() if head.startswith(magic)), None)
    if kind == "zip":
        import zipfile

        try:
            names = zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile:
            raise XnetError(f"{path}: a damaged zip archive, not CSV text") from None
        if any(n.startswith("xl/") for n in names):
            raise XnetError(
                f"{path}: is an Excel workbook (.xlsx), not CSV text; save it as CSV (UTF-8) and "
                f"pass that file"
            )
        if len(names) != 1:
            raise XnetError(
                f"{path}: a zip archive holding {len(names)} files; xnet reads a zip of one CSV "
                f"file: extract the one you mean and pass it"
            )
    return kind


def open_text(path: Path, encoding: str | None, kind: str | None):
    """The file as text, decompressed (`compression`)."""
    if kind is None:
        return open(path, newline="", encoding=encoding or "utf-8")
    import bz2
    import gzip
    import lzma
    import zipfile

    if kind == "zip":
        archive = zipfile.ZipFile(path)
        raw = archive.open(archive.namelist()[0])
    else:
        raw = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}[kind](path, "rb")
    return io.TextIOWrapper(raw, encoding=encoding or "utf-8", newline="")


def encoding_error(path: Path, encoding: str | None, err: UnicodeDecodeError) -> XnetError:
    return XnetError(
        f"{path}: not valid {encoding or 'utf-8'} text (byte "
        f"{err.object[err.start : err.start + 1]!r} at offset {err.start}); set its encoding in "
        f"the data YAML, e.g. `encoding: latin-1` (or data.encoding=latin-1)"
    )


def read_header(
    path: Path, encoding: str | None, delimiter: str, kind: str | None = None
) -> list[str]:
    """The header's column names exactly as written (duplicates kept, surrounding spaces kept);
    `kind`: the file's compression (`compression`)."""
    try:
        with open_text(path, encoding, kind) as handle:
            header = next(csv.reader(handle, delimiter=delimiter), [])
    except UnicodeDecodeError as err:
        raise encoding_error(path, encoding, err) from None
    except (OSError, EOFError) as err:  # a damaged compressed file
        raise XnetError(f"{path}: cannot be read as {kind} compressed CSV ({err})") from None
    except LookupError:
        raise XnetError(
            f"{path}: unknown encoding {encoding!r} in the data YAML; use e.g. utf-8 or latin-1"
        ) from None
    if len(header) == 1:
        counts = {d: header[0].count(d) for d in _CANDIDATES if d != delimiter}
        seems = max(counts, key=counts.get)
        if counts[seems]:
            shown = {"\t": "tab"}.get(seems, seems)
            raise XnetError(
                f"{path}: the header has one column ({header[0][:60]!r}); the file seems "
                f"{shown!r}-delimited, not {delimiter!r}; set `delimiter: {seems!r}` in its data "
                f"YAML (or data.delimiter)"
            )
    return header


def check_tail(path: Path, n_fields: int, encoding: str | None, delimiter: str) -> None:
    """A file that stops in the middle of its last line: an error where the cut falls inside a
    number, else a warning naming the line and its field count (its missing fields read as
    empty)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read()
    if tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1].decode(encoding or "utf-8", errors="replace")
    fields = next(csv.reader(io.StringIO(last), delimiter=delimiter), [])
    if len(fields) == n_fields or not last.strip():
        return
    with open(path, "rb") as handle:
        line = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) + 1
    cut = fields[-1] if fields else ""
    where = f"{path}: line {line}, the last, has {len(fields)} of {n_fields} fields and no line end"
    if cut.strip() and _NUMBERISH.match(cut.strip()) and len(fields) <= n_fields:
        raise XnetError(
            f"{where}: the file is cut at the number {cut!r}, which may be incomplete; restore "
            f"the whole file or delete that line"
        )
    log.warning("%s: the file looks cut short; its missing fields are read as empty", where)
