"""Issue 22: files in formats xnet meets by mistake or must write safely: compressed CSV is
read, an Excel file says what it is, and FITS output takes any class name and checks its column
names before any work."""

from __future__ import annotations

import pandas as pd
import pytest
from test_bad_values import _configs, labelled, rows, write

from xnet.errors import XnetError


def test_fits_output_takes_non_ascii_and_newline_class_names(tmp_path):
    import pyarrow as pa
    from astropy.io import fits
    from astropy.table import Table

    from xnet.predict.writers import TableWriter

    classes = ["Étoile", "A\nB", "AGN"]
    meta = {"pred_class": (None, f"one of {', '.join(classes)}")}
    batch = pa.RecordBatch.from_arrays(
        [pa.DictionaryArray.from_arrays(pa.array([0, 1, 2], pa.int16()), pa.array(classes))],
        names=["pred_class"],
    )
    with TableWriter(tmp_path / "p.fits", meta=meta) as writer:
        writer.write(batch)
    table = Table.read(tmp_path / "p.fits")
    assert [v for v in table["pred_class"]] == classes
    header = fits.getheader(tmp_path / "p.fits", 1)  # TOPCAT's description, escaped, not dropped
    assert header["TCOMM1"] == "one of \\xc9toile, A\\nB, AGN"


def test_fits_output_column_names_are_checked_before_any_work(tmp_path):
    from xnet.predict.output import check_column_names

    check_column_names(tmp_path / "p.parquet", ["名前", "P_" + "X" * 80])  # any name fits
    with pytest.raises(XnetError, match=r"column '名前' cannot be a FITS column name"):
        check_column_names(tmp_path / "p.fits", ["ra", "名前"])


def test_compressed_csv_is_read(tmp_path):
    from xnet.data.catalog import load_catalog

    plain = load_catalog({**_configs()[0], "path": str(write(tmp_path / "plain.csv", rows()))})
    for compression, name in (
        ("gzip", "t.csv.gz"),
        ("bz2", "b.csv"),
        ("xz", "x.csv"),
        ("zip", "z.csv"),
    ):
        path = tmp_path / name  # `.csv.gz`, or named as plain CSV: its first bytes say what it is
        rows().to_csv(path, index=False, compression=compression)
        packed = load_catalog({**_configs()[0], "path": str(path)})
        pd.testing.assert_frame_equal(packed.frame, plain.frame)


@pytest.mark.parametrize("kind", ["xlsx", "xls"])
def test_an_excel_file_says_it_is_excel(tmp_path, kind):
    import zipfile

    path = tmp_path / "t.csv"
    if kind == "xlsx":
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("[Content_Types].xml", "<Types/>")
            book.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(XnetError, match=r"is an Excel .*not CSV text; save it as CSV"):
        labelled(path)
