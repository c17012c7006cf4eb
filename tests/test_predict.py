"""`xnet.predict` on small generated 4XMM-DR13-schema files and the bundled catalogs: output
formats, flags, labelled-input metrics, reloaded checkpoints, CV ensembles and bad input."""

from __future__ import annotations

import errno
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from astropy.io import fits
from astropy.table import Table
from conftest import CSC_CSV, FAST, LIN_CSV, compose_config, run_cli
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from xnet.config.compose import CONFIG_DIR
from xnet.data.labelled import prepare_labelled_set
from xnet.data.preprocessing import scaler_from_state, transform
from xnet.data.tables import iter_table_chunks, table_info
from xnet.errors import XnetError
from xnet.evaluation.metrics import classification_report
from xnet.models import XrayClassifier
from xnet.predict import predict, probability_column
from xnet.testing.mock_catalog import full_table, slim_table, write_table
from xnet.training import train

LIN_CLASSES = ["AGN", "CV", "LM-STAR"]
PROBS = [probability_column(c) for c in LIN_CLASSES]


def predict_config(**values):
    """conf/predict.yaml with `values` set (as `key=value` on the command line would)."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name="predict")
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def run_predict(**values) -> dict:
    return predict(predict_config(progress=False, **values))


def read_output(path) -> pd.DataFrame:
    if str(path).endswith(".parquet"):
        return pd.read_parquet(path)
    if str(path).endswith(".csv"):
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    table = Table.read(path)
    values = {c: np.asarray(table[c]) for c in table.colnames}
    return pd.DataFrame(
        {c: np.char.decode(v) if v.dtype.kind == "S" else v for c, v in values.items()}
    )


def text(column: pd.Series) -> list[str]:
    """A text column as plain strings, '' where empty (Parquet keeps nulls, CSV and FITS cannot)."""
    return ["" if pd.isna(v) else str(v) for v in column.astype(object)]


@pytest.fixture(scope="module")
def xmm_run(tmp_path_factory):
    """The default training on the bundled XMM slice (in-process: no .hydra/, so the run's catalog
    config is composed from its name)."""
    run = tmp_path_factory.mktemp("xmm") / "run"
    train(compose_config(FAST), run)
    return run


@pytest.fixture(scope="module")
def csc_cv_run(tmp_path_factory):
    """3-fold CV on the Chandra set with multiwavelength features (trained in-process, no
    .hydra/)."""
    run = tmp_path_factory.mktemp("csc") / "run"
    train(compose_config(["data=csc_muwclass", "features=xray_mw", "cv.folds=3", *FAST]), run)
    return run


@pytest.fixture(scope="module")
def slim_rows():
    """40 slim-schema rows; rows 0-6 set up for one flag each (see test_flags)."""
    rows = slim_table(40, seed=3)
    clean = dict(
        SC_EP_8_FLUX=1e-13,
        SC_EP_8_FMIN=8e-14,
        SC_EP_8_FMAX=1.2e-13,
        SC_HR1=0.3,
        SC_HR2=-0.1,
        SC_HR3=-0.2,
        SC_HR4=-0.3,
        SC_CHI2PROB=0.5,
        SC_FVAR=0.2,
        SC_EXTENT=0.0,
        SC_SUM_FLAG=0,
    )
    for i in range(7):
        for col, value in clean.items():
            rows[col][i] = value
    rows["SC_EXTENT"][1] = 12.0  # extended
    rows["SC_SUM_FLAG"][2] = 3  # poor quality
    rows["SC_EP_8_FLUX"][3] = rows["SC_EP_8_FMIN"][3] = rows["SC_EP_8_FMAX"][3] = (
        1e-6  # far too bright
    )
    for col in ("SC_EP_8_FLUX", "SC_EP_8_FMIN", "SC_EP_8_FMAX"):  # no flux at all
        rows[col][4] = np.nan
    for col in (
        "SC_EP_8_FLUX",
        "SC_EP_8_FMIN",
        "SC_EP_8_FMAX",
        "SC_HR1",
        "SC_HR2",
        "SC_HR3",
        "SC_HR4",
        "SC_CHI2PROB",
        "SC_FVAR",
        "SC_EXTENT",
    ):  # nothing to classify on
        rows[col][5] = np.nan
    rows["SC_EXTENT"][6], rows["SC_SUM_FLAG"][6] = 30.0, 2
    return rows


@pytest.fixture(scope="module")
def slim_fits(tmp_path_factory, slim_rows):
    return write_table(tmp_path_factory.mktemp("slim") / "slim.fits", slim_rows)


@pytest.mark.cli
def test_train_then_predict_on_4xmm_slim_fits_from_the_command_line(xmm_run, slim_fits, tmp_path):
    out = tmp_path / "p.parquet"
    result = run_cli("xnet.predict", f"run={xmm_run}", f"input={slim_fits}", f"output={out}")
    assert result.returncode == 0, result.stderr
    assert (
        "xmm_dr13_slim" in result.stdout
    )  # the run's catalog (Lin) does not fit; the slim config does
    table = pd.read_parquet(out)
    assert list(table.columns) == [
        "SRCID",
        "IAUNAME",
        "SC_RA",
        "SC_DEC",
        "pred_class",
        "pred_prob",
        "confidence",
        *PROBS,
        "flag",
        "in_training",
    ]
    assert len(table) == 40 and table["SRCID"].tolist() == slim_table(40, seed=3)["SRCID"].tolist()
    assert table["IAUNAME"].str.startswith("4XMM J").all()
    usable = table["pred_class"].notna()
    probs = table.loc[usable, PROBS].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (table.loc[usable, "pred_prob"].to_numpy() == probs.max(axis=1)).all()
    assert (table.loc[usable, "pred_class"] == np.array(LIN_CLASSES)[probs.argmax(axis=1)]).all()
    # confidence: the probability of the predicted class (prior_power 0 here: the top probability)
    np.testing.assert_allclose(
        table.loc[usable, "confidence"], table.loc[usable, "pred_prob"], rtol=1e-6
    )
    assert table.loc[~usable, "confidence"].isna().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert (
        out.stat().st_mode & 0o777 == 0o666 & ~umask
    )  # an ordinary file, not the temporary's 0600


@pytest.mark.parametrize("fmt", ["csv", "fits", "vot"])
def test_csv_and_fits_outputs_hold_the_same_table(xmm_run, slim_fits, tmp_path, fmt):
    base = tmp_path / "p.parquet"
    run_predict(run=str(xmm_run), input=str(slim_fits), output=str(base))
    other = tmp_path / f"p.{fmt}"
    run_predict(run=str(xmm_run), input=str(slim_fits), output=str(other))
    a, b = read_output(base), read_output(other)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 40
    assert (a["SRCID"].to_numpy() == b["SRCID"].to_numpy()).all()
    assert a["IAUNAME"].tolist() == b["IAUNAME"].tolist()
    for col in ("pred_class", "flag"):
        assert text(a[col]) == text(b[col])
    np.testing.assert_allclose(b[PROBS].to_numpy(float), a[PROBS].to_numpy(float), rtol=1e-6)


def test_fits_and_votable_carry_units_descriptions_ucds_and_provenance(
    xmm_run, slim_fits, tmp_path
):
    """Issue 23: astropy's `Table.read` finds a one-line description for every column, the units
    and UCDs, and the provenance; TOPCAT's TCOMMn/TUCDn cards are there too; the VOTable is
    BINARY2. One stem in two formats: each its own metrics sidecar (none here: unlabelled)."""
    from astropy.io.votable import parse_single_table
    from astropy.io.votable.ucd import check_ucd

    for suffix in ("fits", "vot"):
        run_predict(run=str(xmm_run), input=str(slim_fits), output=str(tmp_path / f"p.{suffix}"))
    fits_table, vot_table = Table.read(tmp_path / "p.fits"), Table.read(tmp_path / "p.vot")
    assert fits_table.colnames == vot_table.colnames and len(vot_table) == 40
    for table in (fits_table, vot_table):
        for name in table.colnames:
            description = table[name].description
            assert description and "\n" not in description and len(description) <= 64, name
            ucd = (table[name].meta or {}).get("ucd")
            assert ucd is None or check_ucd(ucd, check_controlled_vocabulary=True), ucd
        ra = next(name for name in table.colnames if name.upper().endswith("RA"))
        assert str(table[ra].unit) == "deg" and table[ra].meta["ucd"] == "pos.eq.ra;meta.main"
        assert table["P_AGN"].meta["ucd"] == "stat.probability"
        assert table["pred_class"].meta["ucd"] == "src.class"
    assert fits_table["P_AGN"].description == "calibrated probability that the source is AGN"
    assert fits_table.meta["CREATOR"].startswith("xnet ") and fits_table.meta["XNETCAT"]
    assert fits_table.meta["XNETRUN"] == str(xmm_run.resolve())
    assert fits_table.meta["XNETINP"] == str(slim_fits.resolve())
    assert fits.getheader(tmp_path / "p.fits", 0)["XNETRUN"] == str(xmm_run.resolve())
    header = fits.getheader(tmp_path / "p.fits", 1)
    columns = {header[f"TTYPE{i}"]: i for i in range(1, header["TFIELDS"] + 1)}
    assert header[f"TCOMM{columns['flag']}"] == fits_table["flag"].description
    assert header[f"TUCD{columns['pred_prob']}"] == "stat.probability"
    assert f"input catalog: {slim_fits.resolve()}" in vot_table.meta["description"].replace(
        "\n    ", " "
    )
    vot = parse_single_table(str(tmp_path / "p.vot"))
    assert {p.name for p in vot.params} >= {"creator", "xnetrun"}
    assert b"<BINARY2>" in (tmp_path / "p.vot").read_bytes()


def test_flags(xmm_run, slim_fits, tmp_path):
    out = tmp_path / "p.parquet"
    summary = run_predict(run=str(xmm_run), input=str(slim_fits), output=str(out))
    table = pd.read_parquet(out)
    flags = text(table["flag"])
    # (an extent beyond the few extended training sources' may also be out of range)
    flags[1], flags[6] = (
        flags[1].replace("out_of_range:extent;", ""),
        flags[6].replace("out_of_range:extent;", ""),
    )
    assert flags[:7] == [
        "",
        "extended",
        "poor_quality",
        "out_of_range:log_flux",
        "missing:log_flux",  # never missing in training (the min/max flux fills in for F8)
        "no_features",
        "poor_quality;extended",
    ]
    assert table["pred_class"].isna().tolist()[:7] == [
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert table.loc[5, PROBS].isna().all() and np.isnan(table.loc[5, "pred_prob"])
    assert table.loc[[3, 4], PROBS].notna().all().all()  # flagged rows keep their probabilities
    assert summary["no_prediction"] == 1 and summary["flags"]["no_features"] == 1
    # HR4 is missing for most training sources: a missing HR4 is not a flag
    assert np.isnan(slim_table(40, seed=3)["SC_HR4"][7:]).any()
    assert not any("hr4" in f for f in flags)
    # the thresholds are the config's: counting SUM_FLAG 3 as acceptable drops that flag
    run_predict(
        run=str(xmm_run),
        input=str(slim_fits),
        output=str(tmp_path / "q.parquet"),
        **{"flags.max_sum_flag": 3},
    )
    assert text(pd.read_parquet(tmp_path / "q.parquet")["flag"])[2] == ""


def test_full_detection_catalog_gives_the_same_probabilities_as_slim(xmm_run, tmp_path):
    """Full-catalog columns (EP_8_FLUX, EP_HR1..4, EP_EXTENT, EP_CHI2PROB, PN_FVAR) hold the same
    values as the slim ones here, so the two configs must give identical predictions."""
    full = write_table(tmp_path / "full.fits", full_table(30, seed=5, wide=False))
    slim = write_table(tmp_path / "slim.fits", slim_table(30, seed=5))
    run_predict(run=str(xmm_run), input=str(full), output=str(tmp_path / "f.parquet"))
    run_predict(run=str(xmm_run), input=str(slim), output=str(tmp_path / "s.parquet"))
    f, s = pd.read_parquet(tmp_path / "f.parquet"), pd.read_parquet(tmp_path / "s.parquet")
    assert list(f.columns[:5]) == ["DETID", "SRCID", "IAUNAME", "RA", "DEC"]
    assert (f["SRCID"] == s["SRCID"]).all()
    np.testing.assert_array_equal(f[PROBS].to_numpy(), s[PROBS].to_numpy())


def test_reloaded_checkpoint_gives_identical_probabilities(xmm_run, tmp_path):
    """predict on the training catalog == the checkpoint reloaded by hand on the training
    pipeline's features."""
    out = tmp_path / "lin.parquet"
    run_predict(run=str(xmm_run), input=str(LIN_CSV), output=str(out))
    table = pd.read_parquet(out)
    assert len(table) == 1008 and list(table.columns[:4]) == ["name", "ra", "dec", "Class"]

    metrics = json.loads((xmm_run / "metrics.json").read_text())
    ckpt = xmm_run / metrics["checkpoint"]
    state = torch.load(ckpt, weights_only=True)["XrayDataModule"]
    model = XrayClassifier.load_from_checkpoint(ckpt, weights_only=True)
    cfg = compose_config()
    data = prepare_labelled_set(cfg.data, cfg.features, cfg.split.min_class_count)
    expected = model.predict_proba(
        torch.as_tensor(transform(scaler_from_state(state["scaler"]), data.x))
    ).numpy()
    got = table.set_index("name").loc[data.frame["source_id"].to_numpy(), PROBS].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_labelled_input_writes_the_training_metrics_block(xmm_run, tmp_path):
    out = tmp_path / "lin.csv"
    summary = run_predict(run=str(xmm_run), input=str(LIN_CSV), output=str(out), chunk_size=300)
    metrics = json.loads((tmp_path / "lin.csv.metrics.json").read_text())  # <output>.metrics.json
    assert metrics == summary["metrics"] and not (tmp_path / "metrics.json").exists()
    table = pd.read_csv(out)
    # the run's training and validation rows are marked and left out: what is scored is its test
    # part
    trained = json.loads((xmm_run / "metrics.json").read_text())
    assert (
        table["in_training"].sum()
        == metrics["n_in_training"]
        == trained["n_train"] + trained["n_val"]
        == 790
    )
    scored = table[table["Class"].isin(LIN_CLASSES) & ~table["in_training"]]
    assert (
        metrics["n_test"] == len(scored) == trained["n_test"] == 198
        and metrics["n_label_not_a_model_class"] == 20
    )
    assert metrics["confusion_matrix"] == trained["confusion_matrix"]
    codes = {c: i for i, c in enumerate(LIN_CLASSES)}
    expected = classification_report(
        np.array(scored["Class"].map(codes)), np.array(scored["pred_class"].map(codes)), LIN_CLASSES
    )
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "confusion_matrix", "per_class"):
        assert metrics[key] == expected[key]
    # (no claim that this 3-epoch model beats chance: it calls every source AGN, 137/198)


def test_chunking_does_not_change_the_output(xmm_run, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run_predict(
        run=str(xmm_run),
        input=str(LIN_CSV),
        output=str(tmp_path / "a" / "p.parquet"),
        chunk_size=100_000,
    )
    run_predict(
        run=str(xmm_run),
        input=str(LIN_CSV),
        output=str(tmp_path / "b" / "p.parquet"),
        chunk_size=37,
    )
    a, b = (
        pd.read_parquet(tmp_path / "a" / "p.parquet"),
        pd.read_parquet(tmp_path / "b" / "p.parquet"),
    )
    pd.testing.assert_frame_equal(
        a.astype({"flag": str, "pred_class": object}), b.astype({"flag": str, "pred_class": object})
    )


def test_cv_run_predicts_with_the_mean_of_its_fold_models(csc_cv_run, tmp_path):
    frame = pd.read_csv(CSC_CSV).iloc[::10]
    path = tmp_path / "csc.parquet"
    frame.to_parquet(path, index=False)
    classes = json.loads((csc_cv_run / "metrics.json").read_text())["classes"]
    cols = [probability_column(c) for c in classes]
    for name in ("all", "fold0", "fold1", "fold2"):
        (tmp_path / name).mkdir()
    run_predict(
        run=str(csc_cv_run),
        input=str(path),
        output=str(tmp_path / "all" / "p.parquet"),
        catalog="csc_muwclass",
    )
    folds = []
    for k in range(3):
        out = tmp_path / f"fold{k}" / "p.parquet"
        run_predict(
            run=str(csc_cv_run / "checkpoints" / f"fold_{k}-best.ckpt"),
            input=str(path),
            output=str(out),
            catalog="csc_muwclass",
        )
        folds.append(pd.read_parquet(out)[cols].to_numpy())
    ensemble = pd.read_parquet(tmp_path / "all" / "p.parquet")[cols].to_numpy()
    np.testing.assert_allclose(ensemble, np.mean(folds, axis=0), rtol=1e-6)
    assert not np.allclose(folds[0], folds[1])  # the folds really are different models


def test_labelled_csv_with_own_column_names_from_a_user_config_dir(csc_cv_run, tmp_path):
    """A model trained with data=csc_muwclass features=xray_mw predicts on a labelled CSV whose
    columns are named differently, described by a YAML in the user's --config-dir."""
    renames = {
        "Fs": "soft_flux",
        "Fm": "medium_flux",
        "Fh": "hard_flux",
        "Fb": "broad_flux",
        "Gmag": "G",
        "BPmag": "BP",
        "RPmag": "RP",
        "Jmag": "J",
        "Hmag": "H",
        "Kmag": "K",
        "W1mag": "W1",
        "W2mag": "W2",
        "W3mag": "W3",
        "True_Class": "truth",
        "CSCv2_name": "src",
        "CSCv2_RA": "ra_deg",
        "CSCv2_DEC": "dec_deg",
    }
    pd.read_csv(CSC_CSV).rename(columns=renames).to_csv(tmp_path / "mine.csv", index=False)
    (tmp_path / "conf" / "data").mkdir(parents=True)
    columns = "\n".join(
        f"  {canon}: {col}"
        for canon, col in {
            "flux_soft": "soft_flux",
            "flux_medium": "medium_flux",
            "flux_hard": "hard_flux",
            "flux_total": "broad_flux",
            "p_intra": "P_intra",
            "p_inter": "P_inter",
            "gaia_g": "G",
            "gaia_bp": "BP",
            "gaia_rp": "RP",
            "j": "J",
            "h": "H",
            "k": "K",
            "w1": "W1",
            "w2": "W2",
            "w3": "W3",
            "parallax": "Plx",
            "pm": "PM",
            "dist": "rgeo",
        }.items()
    )
    (tmp_path / "conf" / "data" / "mycsc.yaml").write_text(
        "name: mycsc\npath: null\nlabel: truth\nid: src\nra: ra_deg\ndec: "
        f"dec_deg\ncolumns:\n{columns}\n"
    )
    out = tmp_path / "pred" / "mine.parquet"
    out.parent.mkdir()
    cfg = predict_config(
        catalog="mycsc",
        run=str(csc_cv_run),
        input=str(tmp_path / "mine.csv"),
        output=str(out),
        progress=False,
    )
    with initialize_config_dir(
        version_base="1.3", config_dir=str(tmp_path / "conf")
    ):  # what --config-dir adds
        summary = predict(cfg)
    assert not (out.parent / "mine.parquet.metrics.json").exists()
    table = pd.read_parquet(out)
    assert list(table.columns[:4]) == ["src", "ra_deg", "dec_deg", "truth"] and len(table) == 2941
    # a CV run has trained or validated on every labelled row in some fold: all marked, nothing
    # scored
    assert table["in_training"].all() and "metrics" not in summary
    assert not (out.parent / "metrics.json").exists()


def test_catalog_without_id_gets_row_numbers(xmm_run, tmp_path):
    """A user's catalog config with no id or position columns: rows are numbered as in the file."""
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "data" / "bare.yaml").write_text(
        "name: bare\ncolumns: "
        "{flux_total: F8, flux_min: sc_ep_8_fmin, flux_max: sc_ep_8_fmax, hr1: HR1, hr2: HR2,"
        " hr3: HR3, hr4: HR4, chi2prob: sc_chi2prob, fvar: sc_fvar, extent: sc_extent}\n"
    )
    cfg = predict_config(
        run=str(xmm_run),
        input=str(LIN_CSV),
        output=str(tmp_path / "p.parquet"),
        catalog="bare",
        progress=False,
    )
    with initialize_config_dir(version_base="1.3", config_dir=str(tmp_path / "conf")):
        predict(cfg)
    table = pd.read_parquet(tmp_path / "p.parquet")
    assert list(table.columns[:3]) == ["row", "pred_class", "pred_prob"]
    assert table["row"].tolist() == list(
        range(1008)
    )  # the slice's 8,940 empty trailing lines are not rows
    assert not (tmp_path / "p.parquet.metrics.json").exists()  # no label: nothing to score


def test_fits_values_follow_the_fits_rules(tmp_path):
    """Unsigned and scaled integers, TNULL, undefined logicals: the chunk reader agrees with
    astropy."""
    n = 25
    rng = np.random.default_rng(0)
    cols = [
        fits.Column(
            name="U16", format="I", bzero=32768, array=rng.integers(0, 65535, n).astype(np.uint16)
        ),
        fits.Column(
            name="S8", format="B", bzero=-128, array=rng.integers(-128, 127, n).astype(np.int8)
        ),
        fits.Column(
            name="NULLED",
            format="J",
            null=-99,
            array=np.where(np.arange(n) % 4 == 0, -99, np.arange(n)),
        ),
        fits.Column(
            name="SCALED", format="I", array=np.arange(n, dtype=np.int16)
        ),  # TSCAL/TZERO set below
        fits.Column(name="FLAG", format="L", array=np.arange(n) % 3 == 0),
        fits.Column(name="NAME", format="8A", array=np.array([f"s{i}" for i in range(n)])),
        fits.Column(name="F", format="E", array=rng.normal(size=n).astype(np.float32)),
    ]
    path = tmp_path / "rules.fits"
    fits.BinTableHDU.from_columns(cols).writeto(path)
    fits.setval(path, "TSCAL4", value=0.5, ext=1)
    fits.setval(path, "TZERO4", value=10.0, ext=1)
    names = [c.name for c in cols]
    chunks = list(iter_table_chunks(table_info(path), names, 10))
    assert [len(c.rows) for c in chunks] == [10, 10, 5]
    got = {name: np.concatenate([c.columns[name] for c in chunks]) for name in names}
    ref = Table.read(path)
    np.testing.assert_array_equal(got["U16"], np.asarray(ref["U16"]))
    np.testing.assert_array_equal(got["S8"], np.asarray(ref["S8"]))
    np.testing.assert_array_equal(got["NULLED"], np.ma.filled(ref["NULLED"].astype(float), np.nan))
    np.testing.assert_allclose(got["SCALED"], np.asarray(ref["SCALED"]))
    np.testing.assert_allclose(got["SCALED"], np.arange(n) * 0.5 + 10.0)
    np.testing.assert_array_equal(got["FLAG"], np.asarray(ref["FLAG"]).astype(float))
    assert [v.decode().rstrip() for v in got["NAME"]] == list(ref["NAME"])
    np.testing.assert_array_equal(got["F"], np.asarray(ref["F"]))


# --- bad input: one line naming the problem, no output, nothing half-written -----------------


def _write_bad(tmp_path, case: str, slim_rows) -> dict:
    """Arguments for one bad-input case (files generated in tmp_path)."""
    out = tmp_path / "out" / "p.parquet"
    out.parent.mkdir(exist_ok=True)
    good = str(write_table(tmp_path / "good.fits", slim_rows))
    if case == "nonexistent_input":
        return dict(input=str(tmp_path / "nope.fits"), output=str(out))
    if case == "empty_file":
        (tmp_path / "empty.fits").write_bytes(b"")
        return dict(input=str(tmp_path / "empty.fits"), output=str(out))
    if case == "fits_without_table":
        fits.PrimaryHDU(np.zeros((4, 4))).writeto(tmp_path / "image.fits")
        return dict(input=str(tmp_path / "image.fits"), output=str(out))
    if case == "required_column_missing":
        write_table(tmp_path / "nohr.fits", {k: v for k, v in slim_rows.items() if k != "SC_HR3"})
        return dict(input=str(tmp_path / "nohr.fits"), output=str(out), catalog="xmm_dr13_slim")
    if case == "wrong_type":
        frame = pd.DataFrame(
            {k: (v.astype(str) if v.dtype.kind == "S" else v) for k, v in slim_rows.items()}
        )
        frame["SC_HR2"] = frame["SC_HR2"].astype(object)
        frame.loc[25, "SC_HR2"] = "soft"
        frame.to_csv(tmp_path / "typed.csv", index=False)
        return dict(input=str(tmp_path / "typed.csv"), output=str(out), chunk_size=10)
    if case == "all_nan_features":
        rows = dict(slim_rows)
        for col in (
            "SC_EP_8_FLUX",
            "SC_EP_8_FMIN",
            "SC_EP_8_FMAX",
            "SC_HR1",
            "SC_HR2",
            "SC_HR3",
            "SC_HR4",
            "SC_CHI2PROB",
            "SC_FVAR",
            "SC_EXTENT",
        ):
            rows[col] = np.full(len(rows[col]), np.nan)
        write_table(tmp_path / "nan.fits", rows)
        return dict(input=str(tmp_path / "nan.fits"), output=str(out), chunk_size=16)
    if case == "output_directory_missing":
        return dict(input=good, output=str(tmp_path / "missing" / "p.parquet"))
    if case == "existing_output":
        out.write_text("keep me")
        return dict(input=good, output=str(out))
    if case == "unknown_catalog":
        return dict(input=good, output=str(out), catalog="nope")
    if case == "features_the_catalog_cannot_provide":
        return dict(input=good, output=str(out), catalog="csc_muwclass")
    raise AssertionError(case)


BAD_INPUT = {
    "nonexistent_input": "nope.fits: file not found",
    "empty_file": "empty.fits: file is empty",
    "fits_without_table": "image.fits: FITS file has no table HDU",
    "required_column_missing": (
        "need column 'SC_HR3' (for hr3), not in the file (catalog config 'xmm_dr13_slim'"
    ),
    "wrong_type": (
        "column 'SC_HR2' (feature input 'hr2') holds non-numeric text 'soft' in data row 26"
    ),
    "all_nan_features": (
        "every model feature (log_flux, hr1, hr2, hr3, hr4, chi2prob, fvar, extent) "
        "is missing in all 40 rows"
    ),
    "output_directory_missing": "does not exist; create it or choose another output",
    "existing_output": "p.parquet: file exists; pass overwrite=true to replace it",
    "unknown_catalog": "catalog=nope: no such data config; available: csc_muwclass,",
    "features_the_catalog_cannot_provide": "'Fb' (for flux_total), flux_min (not mapped)",
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_clear_error_and_no_output(xmm_run, slim_rows, tmp_path, case):
    args = _write_bad(tmp_path, case, slim_rows)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    with pytest.raises(XnetError) as err:
        run_predict(run=str(xmm_run), **args)
    message = str(err.value)
    assert BAD_INPUT[case] in message and "\n" not in message
    assert {
        p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()
    } == before  # nothing written or left
    assert not (tmp_path / "missing").exists()


@pytest.mark.cli
def test_bad_input_on_the_command_line_exits_with_one_line(xmm_run, slim_rows, tmp_path):
    args = _write_bad(tmp_path, "all_nan_features", slim_rows)
    result = run_cli("xnet.predict", f"run={xmm_run}", *(f"{k}={v}" for k, v in args.items()))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"xnet: error: {args['input']}: ")
    assert BAD_INPUT["all_nan_features"] in lines[0] and "'xmm_dr13_slim'" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_checkpoint_that_would_run_code_is_refused(tmp_path, slim_fits):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "XrayDataModule": {"classes": Payload()}}, evil)
    with pytest.raises(XnetError) as err:
        run_predict(run=str(evil), input=str(slim_fits), output=str(tmp_path / "p.parquet"))
    assert str(err.value) == (
        f"run={evil}: refused: this file holds Python objects (a pickle) besides tensors and plain "
        f"values, and loading it could run any code it carries; it was not loaded. Pass a "
        f"checkpoint written by xnet.train"
    )  # said plainly (issue 22), not torch's advice to load it with weights_only=False
    assert not marker.exists() and not (tmp_path / "p.parquet").exists()


def test_run_directory_problems_are_named(tmp_path, slim_fits):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "summary.csv").write_text("overrides\n")
    with pytest.raises(XnetError, match="is a sweep directory; pass one of its job directories"):
        run_predict(
            run=str(tmp_path / "sweep"), input=str(slim_fits), output=str(tmp_path / "p.parquet")
        )
    with pytest.raises(XnetError, match="not found; pass a training run directory"):
        run_predict(
            run=str(tmp_path / "nothing"), input=str(slim_fits), output=str(tmp_path / "p.parquet")
        )


def test_labelled_prediction_into_a_run_never_replaces_its_metrics(xmm_run, tmp_path):
    """Issue 14: predict's metrics go to <output name>.metrics.json; overwrite names exactly what
    it replaces."""
    run = tmp_path / "run"
    shutil.copytree(xmm_run, run)
    training = (run / "metrics.json").read_bytes()
    out, beside = run / "preds.csv", run / "preds.csv.metrics.json"
    summary = run_predict(run=str(run), input=str(LIN_CSV), output=str(out))
    assert (
        run / "metrics.json"
    ).read_bytes() == training  # the run's own metrics.json is untouched
    assert (
        json.loads(beside.read_text()) == summary["metrics"] and summary["metrics"]["n_test"] == 198
    )  # the unseen rows (in_training left out)
    with pytest.raises(XnetError) as err:
        run_predict(run=str(run), input=str(LIN_CSV), output=str(out))
    assert (
        str(err.value)
        == f"output={out}: {out} and {beside} exist; pass overwrite=true to replace them"
    )
    out.unlink()
    with pytest.raises(XnetError) as err:
        run_predict(run=str(run), input=str(LIN_CSV), output=str(out))
    assert str(err.value) == f"output={out}: {beside} exists; pass overwrite=true to replace it"
    beside.write_text("{}")
    run_predict(run=str(run), input=str(LIN_CSV), output=str(out), overwrite=True)
    assert (
        json.loads(beside.read_text())["n_test"] == 198
        and (run / "metrics.json").read_bytes() == training
    )


@pytest.mark.parametrize(
    "code, kind", [(errno.ENOSPC, "parquet"), (errno.EFBIG, "csv"), (errno.EFBIG, "fits")]
)
def test_full_disk_or_file_size_limit_is_one_line_and_leaves_no_file(
    xmm_run, slim_fits, tmp_path, monkeypatch, code, kind
):
    """Issue 14: the OS refusing a write (disk full, `ulimit -f`) is one line naming the output and
    the OS error; the temporary file is removed (FITS fails at the end, the others on the first
    chunk)."""
    from xnet.predict.writers import TableWriter

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(
        TableWriter, "_write_astropy" if kind == "fits" else "_write", refuse
    )  # FITS and VOTable: astropy at the end
    out = tmp_path / f"p.{kind}"
    with pytest.raises(XnetError) as err:
        run_predict(run=str(xmm_run), input=str(slim_fits), output=str(out))
    assert str(err.value) == (
        f"output={out}: cannot write it ({os.strerror(code)} [Errno {code}]); nothing was written, "
        "free space or choose another output"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.cli
def test_file_size_limit_on_the_command_line_is_one_line(xmm_run, tmp_path):
    """`ulimit -f 16` (16 KiB) for a prediction of ~150 KiB: exit 2, one line, no file left."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(
            resource.RLIMIT_FSIZE, (16 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
        )

    out = tmp_path / "p.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xnet.predict",
            f"run={xmm_run}",
            f"input={LIN_CSV}",
            f"output={out}",
            "progress=false",
        ],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.startswith(f"xnet: error: output={out}: cannot write it (")
        and result.stderr.count("\n") == 1
    )
    assert "File too large" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_one_stem_in_several_formats_gets_a_metrics_file_each(xmm_run, tmp_path):
    """Issue 23: `<output name>.metrics.json`, so preds.fits and preds.vot can sit side by side."""
    for suffix in ("fits", "vot"):
        out = tmp_path / f"preds.{suffix}"
        summary = run_predict(run=str(xmm_run), input=str(LIN_CSV), output=str(out))
        beside = json.loads((tmp_path / f"preds.{suffix}.metrics.json").read_text())
        assert beside == summary["metrics"] and beside["output"] == str(out)
