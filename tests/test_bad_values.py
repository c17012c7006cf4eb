"""Issue 22, parts 2 and 3: no silently wrong result (lost probability columns, a class from NaN,
training rows scored as unseen, absurd values trained on unsaid, values read as missing unsaid)
and no traceback after training where the input allows an answer before it."""

from __future__ import annotations

import copy
import functools
import json
import logging
import os

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, compose_config, data_config, raw_lin

from xnet.data.labelled import prepare_labelled_set
from xnet.errors import XnetError
from xnet.predict.output import metrics_path
from xnet.training import train


@functools.lru_cache(maxsize=1)
def _rows() -> pd.DataFrame:
    frame = raw_lin()
    frame = frame[frame["Class"] != ""].head(400).reset_index(drop=True)
    frame["name"] = [str(100000 + i) for i in range(len(frame))]  # integer ids
    return frame


def rows() -> pd.DataFrame:
    return _rows().copy()


def write(path, frame: pd.DataFrame):
    frame.to_csv(path, index=False)
    return path


def cfg_for(path, *overrides: str):
    cfg = compose_config([*FAST, *overrides])
    cfg.data.path = str(path)
    return cfg


@functools.lru_cache(maxsize=1)
def _configs() -> tuple[dict, dict]:
    from omegaconf import OmegaConf

    cfg = compose_config([])  # composed once: a composition costs more than a small catalog
    return data_config("xmm_lin2024"), OmegaConf.to_container(cfg.features, resolve=True)


def labelled(path, **extreme):
    data, features = copy.deepcopy(_configs())
    data["path"] = str(path)
    if extreme:
        data["extreme_values"] = extreme
    return prepare_labelled_set(data, features, 10)


@pytest.fixture(scope="module")
def int_run(tmp_path_factory):
    """A hold-out run on 400 labelled rows whose ids are integers."""
    folder = tmp_path_factory.mktemp("int_ids")
    run = folder / "run"
    metrics = train(cfg_for(write(folder / "train.csv", rows())), run)
    return run, metrics


def predict(run, frame_or_path, out, **values):
    from test_bad_input import predict_config

    from xnet.predict import job

    source = frame_or_path
    if isinstance(frame_or_path, pd.DataFrame):
        source = write(out.with_name(out.stem + "_in.csv"), frame_or_path)
    cfg = predict_config(run=str(run), input=str(source), output=str(out), **values)
    return job.predict(cfg)


# ------------------------------------------------------------------------ silent wrong results


@pytest.mark.parametrize(
    "renamed, problem",
    [
        ("LM_STAR", "classes 'LM-STAR' and 'LM_STAR' would share the probability column P_LM_STAR"),
        ("CV\nnew", "class 'CV\\nnew' holds a control character (newline, tab, ...)"),
        ("X" * 67, f"class '{'X' * 67}' is too long for a FITS column name"),
    ],
)
def test_class_names_that_cannot_be_written_are_refused_before_training(tmp_path, renamed, problem):
    frame = rows()
    agn = frame.index[frame["Class"] == "AGN"][:20]
    frame.loc[agn, "Class"] = renamed  # a fourth class with 20 sources
    with pytest.raises(XnetError) as err:
        labelled(write(tmp_path / "t.csv", frame))
    assert problem in str(err.value) and "label_map" in str(err.value)
    assert "\n" not in str(err.value)


def test_nan_probabilities_never_give_a_class_and_are_left_out_of_metrics(int_run, tmp_path):
    run, _ = int_run
    frame = rows()
    frame.loc[[0, 1], "HR1"] = ["1e30", "-1e308"]
    summary = predict(run, frame, tmp_path / "p.csv")
    out = pd.read_csv(tmp_path / "p.csv")
    lost = out["flag"].fillna("").str.contains("not_classified")
    assert lost.sum() >= 1 and out.loc[lost, "pred_class"].isna().all()
    assert out.loc[lost, "P_AGN"].isna().all() and not out.loc[~lost, "pred_class"].isna().any()
    probs = out.loc[~lost, ["P_AGN", "P_CV", "P_LM_STAR"]].sum(axis=1)
    np.testing.assert_allclose(probs, 1.0, atol=1e-5)
    metrics = json.loads(metrics_path(tmp_path / "p.csv").read_text())
    assert summary["not_classified"] == metrics["n_not_classified"] == int(lost.sum())
    parts = ("n_test", "n_in_training", "n_not_classified", "n_label_not_a_model_class")
    assert sum(metrics[k] for k in parts) == len(out)  # every row counted once


def test_ids_match_whatever_their_text_form(int_run, tmp_path, caplog):
    run, metrics = int_run
    frame = rows()
    frame["name"] = [f"{100000 + i}.0" for i in range(len(frame))]
    summary = predict(run, frame, tmp_path / "p.parquet")
    assert summary["in_training"] == metrics["n_train"] + metrics["n_val"]
    scored = json.loads(metrics_path(tmp_path / "p.parquet").read_text())
    assert scored["n_test"] == metrics["n_test"]  # only the run's own test rows are scored


def test_values_read_as_missing_are_said_once_in_the_log_and_metrics(int_run, tmp_path, caplog):
    run, _ = int_run
    frame = rows()
    frame.loc[[3, 4], "F8"] = ["-1e-13", "0"]
    frame.loc[5, "HR2"] = "inf"
    with caplog.at_level(logging.WARNING):
        predict(run, frame, tmp_path / "p.csv")
    said = [r.getMessage() for r in caplog.records if "read as missing" in r.getMessage()]
    assert len(said) == 1
    assert "F8 (flux_total): 2 zero or negative (no logarithm)" in said[0]
    assert "HR2 (hr2): 1 infinite" in said[0]
    assert said[0] in json.loads(metrics_path(tmp_path / "p.csv").read_text())["warnings"]
    data = labelled(write(tmp_path / "train.csv", frame))  # training says it too
    assert any("F8 (flux_total): 2 zero or negative" in w for w in data.warnings)


def test_a_fits_file_with_several_tables_says_which_one_is_read(int_run, tmp_path, caplog):
    from astropy.io import fits
    from astropy.table import Table

    run, _ = int_run
    frame = rows().replace("", np.nan)
    for column in frame.columns:  # numbers as numbers, text (names, classes, t/f flags) as text
        numbers = pd.to_numeric(frame[column], errors="coerce")
        frame[column] = (
            numbers
            if numbers.notna().sum() == frame[column].notna().sum()
            else frame[column].fillna("")
        )
    table = Table.from_pandas(frame)
    hdus = [fits.PrimaryHDU(), fits.table_to_hdu(table), fits.table_to_hdu(table[:5])]
    hdus[1].name, hdus[2].name = "SOURCES", "SUMMARY"
    fits.HDUList(hdus).writeto(tmp_path / "two.fits")
    with caplog.at_level(logging.WARNING):
        predict(run, tmp_path / "two.fits", tmp_path / "p.csv", catalog="xmm_lin2024")
    note = (
        f"{tmp_path / 'two.fits'}: holds 2 tables (HDU 1 (SOURCES, 400 rows), HDU 2 (SUMMARY, "
        f"5 rows)); xnet reads the first, HDU 1"
    )
    assert any(r.getMessage().startswith(note) for r in caplog.records)
    assert json.loads(metrics_path(tmp_path / "p.csv").read_text())["warnings"][0].startswith(note)
    assert labelled(tmp_path / "two.fits").warnings[0].startswith(note)  # training says it too


# ------------------------------------------------------------------------ absurd values


def test_absurd_values_get_a_warning_with_row_counts_or_the_configured_action(tmp_path):
    frame = rows()
    frame.loc[0, "F8"] = "1e308"
    frame.loc[[1, 2], "HR1"] = ["1.5", "-3"]
    path = write(tmp_path / "t.csv", frame)
    warned = labelled(path)
    line = next(w for w in warned.warnings if "implausible values" in w)
    assert "F8 (flux_total): 1 row outside [-1e+10, 1e+10] (e.g. 1e+308)" in line
    assert "HR1 (hr1): 2 rows outside [-1, 1] (e.g. -3)" in line and "kept" in line
    with pytest.raises(XnetError, match=r"implausible values: F8 \(flux_total\): 1 row outside"):
        labelled(path, action="error")
    hr1 = warned.feature_names.index("hr1")
    clipped, missing = labelled(path, action="clip"), labelled(path, action="missing")
    assert clipped.x[[1, 2], hr1].tolist() == [1.0, -1.0]
    assert np.isnan(missing.x[[1, 2], hr1]).all() and not np.isnan(warned.x[[1, 2], hr1]).any()


def test_values_that_overflow_the_scaler_are_one_line_before_any_network_trains(
    tmp_path, monkeypatch
):
    from xnet.data.preprocessing import fit_scaler
    from xnet.training import stacking

    monkeypatch.setattr(stacking, "fit_stack", lambda *a: pytest.fail("must not train"))
    frame = rows()
    frame.loc[7, "HR1"] = "1e308"
    with pytest.raises(XnetError) as err:
        train(cfg_for(write(tmp_path / "t.csv", frame)), tmp_path / "run")
    assert str(err.value).startswith("training values of hr1 (up to 1e+308) are too large to scale")
    assert "extreme_values.action=missing" in str(err.value)
    assert not (tmp_path / "run" / "metrics.json").exists()
    x = np.random.default_rng(0).uniform(0, 1, (50, 2))  # the other two: -1e308 in HR1
    for column, value in ((0, -1e308), (1, -1e308)):  # and in chi2prob
        bad = x.copy()
        bad[3, column] = value
        with pytest.raises(XnetError, match=rf"^training values of {['hr1', 'chi2prob'][column]}"):
            fit_scaler(bad, ["hr1", "chi2prob"])


# ------------------------------------------------------------------------ after training


def _copy_run(run, to):
    import shutil

    shutil.copytree(run, to)
    return to


def test_a_bogus_coverage_confidence_in_the_runs_config_is_one_line(int_run, tmp_path):
    run = _copy_run(int_run[0], tmp_path / "run")
    config = run / ".hydra" / "config.yaml"
    config.parent.mkdir(exist_ok=True)
    text = config.read_text() if config.exists() else "coverage:\n  confidence: decision\n"
    config.write_text(text.replace("confidence: decision", "confidence: bogus"))
    with pytest.raises(XnetError, match=r"coverage.confidence='bogus' is not one of probability"):
        predict(run, rows(), tmp_path / "p.csv")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_checkpoint_linked_to_dev_zero_is_never_read(int_run, tmp_path):
    run = _copy_run(int_run[0], tmp_path / "run")
    ckpt = next((run / "checkpoints").glob("*.ckpt"))
    ckpt.unlink()
    ckpt.symlink_to("/dev/zero")
    with pytest.raises(XnetError, match=r"not a regular file \(a device, pipe or socket\)"):
        predict(run, rows(), tmp_path / "p.csv")


def test_a_full_disk_during_training_is_one_line(tmp_path, monkeypatch):
    import errno

    from xnet.models.artifacts import export

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export.np, "savez", full)
    with pytest.raises(XnetError) as err:
        train(cfg_for(write(tmp_path / "t.csv", rows()), "trainer.max_epochs=1"), tmp_path / "run")
    assert "cannot write it (No space left on device [Errno 28]); the run did not finish" in str(
        err.value
    )
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_every_note_is_logged_once_when_a_catalog_also_repeats_a_source(tmp_path, caplog):
    frame = rows()
    frame.loc[0, "F8"] = "1e308"  # a note: implausible values
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)  # one source twice
    with caplog.at_level(logging.INFO, logger="xnet"):
        warned = labelled(write(tmp_path / "t.csv", frame))
    logged = [r.getMessage() for r in caplog.records]
    notes = list(warned.warnings)
    assert any("implausible values" in w for w in notes) and len(notes) >= 2
    assert all(logged.count(w) == 1 for w in notes)
