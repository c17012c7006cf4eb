"""Issue 23: prediction tables that astropy and TOPCAT read as written. The BINARY2 VOTable's rows
are encoded by xnet in one vectorised pass (`xnet.predict.votable`); astropy's own writer, cell by
cell, is the reference."""

import numpy as np
import pyarrow as pa
from astropy.table import MaskedColumn, Table

from xnet.predict.votable import binary2_rows, field_type, write_votable, write_votable_astropy
from xnet.predict.writers import astropy_table

PROVENANCE = {"CREATOR": ("xnet test", "software that wrote the table")}


def mixed_table() -> Table:
    """Every kind of column a prediction holds, with NaN, nulls and non-ASCII text."""
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(["4XMM J0001", "Ω-Cen X", "𝛼 Ori", ""]),  # Greek, and beyond U+FFFF
            pa.array([10.5, -20.25, np.nan, 0.0]),
            pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 1]), pa.array(["AGN", "LM-STAR"])),
            pa.array(np.array([0.5, 0.25, np.nan, 1.0], np.float32)),
            pa.array([True, None, False, None]),
            pa.array(np.array([1, -2, 3, 4], np.int64)),
        ],
        names=["name", "ra", "pred_class", "pred_prob", "in_training", "row"],
    )
    out = astropy_table(pa.Table.from_batches([batch]), fits=False)
    out["ra"].unit, out["ra"].description = "deg", "right ascension"
    out["ra"].meta["ucd"] = "pos.eq.ra;meta.main"
    return out


def assert_same(a: Table, b: Table) -> None:
    assert a.colnames == b.colnames and len(a) == len(b)
    for name in a.colnames:
        left, right = a[name], b[name]
        assert np.array_equal(np.ma.getmaskarray(left), np.ma.getmaskarray(right)), name
        keep = ~np.ma.getmaskarray(left)
        x, y = np.ma.getdata(left)[keep], np.ma.getdata(right)[keep]
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x, y)  # NaN where NaN
        else:
            assert x.tolist() == y.tolist(), name


def test_votable_rows_read_back_as_astropy_writes_them(tmp_path, monkeypatch):
    from xnet.predict import votable

    table = mixed_table()
    write_votable_astropy(table, tmp_path / "astropy.vot", PROVENANCE)

    def refuse(*args):
        raise AssertionError("fell back to astropy's cell-by-cell writer")

    monkeypatch.setattr(votable, "write_votable_astropy", refuse)  # the vectorised rows only
    write_votable(table, tmp_path / "fast.vot", PROVENANCE)
    fast, reference = Table.read(tmp_path / "fast.vot"), Table.read(tmp_path / "astropy.vot")
    assert_same(fast, reference)
    assert fast["name"].tolist() == ["4XMM J0001", "Ω-Cen X", "𝛼 Ori", ""]
    assert fast["in_training"].mask.tolist() == [False, True, False, True]
    assert str(fast["ra"].unit) == "deg" and fast["ra"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert fast["ra"].description == "right ascension"
    assert fast.meta["description"] == "xnet predictions; software that wrote the table: xnet test"
    assert b"<BINARY2>" in (tmp_path / "fast.vot").read_bytes()


def test_binary2_rows_are_null_flags_then_big_endian_cells():
    """The layout of VOTable 1.4 section 5.5, byte for byte, on one row."""
    table = Table(
        {
            "x": np.array([1.5]),
            "flag": MaskedColumn([True], mask=[True]),
            "n": np.array([7], np.int16),
            "s": np.array(["ab"]),
        }
    )
    types = [field_type(table[c]) for c in table.colnames]
    assert [t["datatype"] for t in types] == ["double", "boolean", "short", "unicodeChar"]
    expected = b"\x40" + np.array([1.5], ">f8").tobytes() + b"T" + b"\x00\x07" + b"\x00a\x00b"
    assert binary2_rows(table, types) == expected
