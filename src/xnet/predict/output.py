"""The output file, checked before any work: its kind (by extension), whether it may be written
where it is named, its column names, where a labelled input's metrics go beside it; and a failed
write's one line."""

from __future__ import annotations

import os
from pathlib import Path

from xnet.errors import XnetError
from xnet.files import os_reason

KINDS = {
    "parquet": "parquet",
    "pq": "parquet",
    "csv": "csv",
    "fits": "fits",
    "fit": "fits",
    "fts": "fits",
    "vot": "votable",
}


def output_kind(path: Path) -> str:
    kind = KINDS.get(path.suffix.lower().lstrip("."))
    if kind is None:
        raise XnetError(
            f"output={path}: unknown file type '{path.suffix}'; use .parquet, .csv, .fits or .vot"
        )
    return kind


def metrics_path(output: Path) -> Path:
    """Where a labelled input's metrics go: `<output name>.metrics.json` beside the output
    (`preds.fits.metrics.json`), so that one stem can be written in several formats; never a
    run's own metrics.json. (Before, `<output stem>.metrics.json`: xnet reads none of them.)"""
    return output.with_name(f"{output.name}.metrics.json")


def refuse_existing(paths: list[Path], overwrite: bool, output: Path) -> None:
    """One line naming exactly the files that exist and would be replaced (none with overwrite)."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        if existing == [output]:
            raise XnetError(f"output={output}: file exists; pass overwrite=true to replace it")
        names = " and ".join(str(p) for p in existing)
        raise XnetError(
            f"output={output}: {names} exist{'s' if len(existing) == 1 else ''}; pass "
            f"overwrite=true to replace {'it' if len(existing) == 1 else 'them'}"
        )


def write_failed(path: Path, err: OSError) -> XnetError:
    """A failed write (disk full, file-size limit, ...) as one line naming the output."""
    return XnetError(
        f"output={path}: cannot write it ({os_reason(err)}); nothing was written, free space or "
        f"choose another output"
    )


def check_output(path: str | Path) -> Path:
    """The output path, checked before any work: known type, existing, writable folder (whether it
    may be replaced is `refuse_existing`'s, once it is known whether metrics go beside it)."""
    path = Path(str(path)).expanduser()
    output_kind(path)
    if path.is_dir():
        raise XnetError(
            f"output={path}: is a directory; name a file such as {path / 'predictions.parquet'}"
        )
    if not path.parent.is_dir():
        raise XnetError(
            f"output={path}: directory {path.parent} does not exist; create it or choose another "
            f"output"
        )
    if not os.access(path.parent, os.W_OK):
        raise XnetError(f"output={path}: directory {path.parent} is not writable")
    return path


def check_column_names(output: Path, names: list[str]) -> None:
    """Before any work: a FITS output's column names must fit FITS (printable ASCII, one header
    card); the other formats take any name."""
    from xnet.data.catalog import FITS_NAME_LENGTH

    if output_kind(output) != "fits":
        return
    bad = [n for n in names if len(n) > FITS_NAME_LENGTH or not (n.isascii() and n.isprintable())]
    if bad:
        raise XnetError(
            f"output={output}: column {', '.join(map(repr, bad))} cannot be a FITS column name "
            f"(printable ASCII, at most {FITS_NAME_LENGTH} characters); write .parquet, .csv or "
            f".vot, or rename it"
        )


def check_not_input(output: Path, source: str | Path) -> None:
    """Refuse to write over the input catalog, however it is reached (another path, a symbolic or
    hard link), whatever `overwrite` says."""
    source = Path(str(source)).expanduser()
    same = output.resolve() == source.resolve()
    if not same and output.exists() and source.exists():
        same = os.path.samefile(output, source)
    if same:
        raise XnetError(
            f"output={output}: is the input catalog {source}; choose another output file "
            f"(overwrite=true never replaces the input)"
        )
