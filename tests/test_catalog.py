"""Catalog loading on the real bundled files and their quirks, plus FITS/Parquet and bad input."""

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from conftest import CSC_CSV, LIN_CSV, data_config, raw_lin

from xnet.data.catalog import load_catalog
from xnet.data.tables import read_table
from xnet.errors import XnetError


def test_lin_slice_quirks_are_handled():
    raw = LIN_CSV.read_bytes()
    assert b"\r\n" in raw and b"\n,,,,,,," in raw.replace(
        b"\r", b""
    )  # CRLF and comma-only rows are really there
    cat = load_catalog(data_config("xmm_lin2024"))
    frame = cat.frame
    assert len(frame) == 1008  # 8,940 empty rows dropped
    assert frame["label"].value_counts().to_dict() == {
        "AGN": 682,
        "LM-STAR": 287,
        "CV": 19,
        "NS": 7,
        "HMXB": 7,
        "HM-STAR": 4,
        "LMXB": 1,
        "NS_BIN": 1,
    }
    # t/f flags: 22 true, 344 false, the rest missing
    assert (frame["var_flag"] == 1).sum() == 22 and (frame["var_flag"] == 0).sum() == 344
    assert frame["var_flag"].isna().sum() == 1008 - 366
    # the string NaN is missing, not text
    assert frame["flux_total"].dtype == float and frame["flux_total"].isna().sum() > 400
    row = frame[frame["source_id"] == "4XMM J000002.7-251136"].iloc[0]
    assert (
        row["flux_total"] == pytest.approx(7.30e-14)
        and np.isnan(row["hr4"])
        and row["ra"] == pytest.approx(0.0112697)
    )


def test_chandra_set_loads_with_its_own_label_column():
    cat = load_catalog(data_config("csc_muwclass"))
    assert len(cat.frame) == 2941
    assert cat.frame["label"].value_counts()["YSO"] == 1004
    assert cat.frame["flux_soft"].iloc[0] == pytest.approx(2e-15)


def test_fits_and_parquet_give_the_same_frame(tmp_path):
    frame = read_table(CSC_CSV)
    table = Table.from_pandas(frame)
    table.write(tmp_path / "td.fits")
    frame.to_parquet(tmp_path / "td.parquet")
    base = load_catalog(data_config("csc_muwclass")).frame
    for name in ("td.fits", "td.parquet"):
        other = load_catalog(data_config("csc_muwclass", path=str(tmp_path / name))).frame
        pd.testing.assert_frame_equal(base, other, check_dtype=False)


def test_quality_filter_keeps_missing_values():
    cat = load_catalog(data_config("xmm_lin2024", filters={"sum_flag": {"max": 1}}))
    assert len(cat.frame) == 990  # 10 sources with flag 2 and 8 with flag 3 removed


def test_class_list_selects_classes():
    cat = load_catalog(data_config("xmm_lin2024", classes=["AGN", "CV"]))
    assert set(cat.frame["label"]) == {"AGN", "CV"} and len(cat.frame) == 701


@pytest.mark.parametrize(
    "change, message",
    [
        ({"label": "Nope"}, "label column 'Nope' not found"),
        ({"classes": ["AGN", "QUASAR"]}, "unknown class 'QUASAR'"),
        ({"path": "/nonexistent/cat.csv"}, "not found"),
        ({"filters": {"nope": {"max": 1}}}, "filter on 'nope'"),
    ],
)
def test_bad_config_is_one_clear_error(change, message):
    with pytest.raises(XnetError, match=message) as err:
        load_catalog(data_config("xmm_lin2024", **change))
    assert "\n" not in str(err.value)


def test_mapped_column_absent_from_file():
    cfg = data_config("xmm_lin2024")
    cfg["columns"]["flux_total"] = "F9"
    with pytest.raises(XnetError, match=r"column 'F9' \(for flux_total\) not found"):
        load_catalog(cfg)


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text(",".join(raw_lin().columns) + "\r\n,,,\r\n")
    for name, message in (("empty.csv", "file is empty"), ("header.csv", "no data rows")):
        with pytest.raises(XnetError, match=message):
            load_catalog(data_config("xmm_lin2024", path=str(tmp_path / name)))


def test_non_numeric_text_names_file_column_value_and_row(tmp_path):
    frame = raw_lin().iloc[:40].copy()
    frame.loc[7, "HR2"] = "0.3?"
    path = tmp_path / "typo.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        XnetError,
        match=r"typo.csv: column 'HR2' \(feature input 'hr2'\) holds non-numeric text "
        r"'0.3\?' in data row 8",
    ):
        load_catalog(data_config("xmm_lin2024", path=str(path)))


def test_data_configs_read_without_composing_are_the_composed_ones(tmp_path):
    """`compose_data_config` reads a data YAML with no defaults list directly (xnet.predict tries
    several on an input); every shipped config, and one in a --config-dir, equals its
    composition."""
    from hydra import compose, initialize_config_dir

    from xnet.config import compose as config

    names = config.data_config_names()
    assert {"csc_muwclass", "xmm_dr13_slim", "xmm_lin2024", "xmm_lin2024_full"} <= set(names)
    for name in names:
        with config._config_search_path():
            composed = config.plain_config(
                compose(config_name=None, overrides=[f"+data={name}"]).data
            )
        assert config.compose_data_config(name) == composed, name
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.yaml").write_text("name: mine\ncolumns: {hr1: H1}\nid: ${.name}\n")
    with initialize_config_dir(version_base="1.3", config_dir=str(tmp_path)):
        assert config.compose_data_config("mine") == {
            "name": "mine",
            "columns": {"hr1": "H1"},
            "id": "mine",
        }
