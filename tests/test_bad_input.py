"""Bad input (issues 11, 13 and the typo rows of 15): one config schema checked before any work,
one error style for every entry point, one reader rule for training and prediction, and a
prediction that never destroys the input or leaves a partial file. All in-process."""

from __future__ import annotations

import copy
import functools
import logging
import os
import signal
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST, LIN_CSV, compose_config, data_config, raw_lin
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xnet.config.compose import CONFIG_DIR
from xnet.config.schema import check_override_keys
from xnet.data.catalog import load_catalog
from xnet.errors import XnetError, exit_on_error
from xnet.models.artifacts.compat import FEATURE_SCHEMA
from xnet.predict import job as predict_job
from xnet.training import train


@functools.lru_cache(maxsize=1)
def _labelled() -> pd.DataFrame:
    frame = raw_lin()
    return frame[frame["Class"] != ""].reset_index(drop=True)


def labelled_rows(n: int = 300) -> pd.DataFrame:
    """The first `n` labelled rows of the bundled XMM slice, as the file writes them."""
    return _labelled().head(n).copy()


def write_csv(path, frame: pd.DataFrame, **kw):
    frame.to_csv(path, index=False, **kw)
    return path


@functools.lru_cache(maxsize=1)
def _lin_cfg() -> dict:
    return data_config("xmm_lin2024")


def lin_cfg(path, **changes) -> dict:
    return {**copy.deepcopy(_lin_cfg()), "path": str(path), **changes}


@pytest.fixture(scope="module")
def run_dir(small_run):
    return small_run  # read only (conftest)


@functools.lru_cache(maxsize=1)
def _predict_cfg():
    from test_predict import predict_config

    return predict_config(progress=False)


def predict_config(**values):
    """conf/predict.yaml (composed once) with `values` set."""
    from omegaconf import OmegaConf

    cfg = copy.deepcopy(_predict_cfg())
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def predict(**values) -> dict:
    return predict_job.predict(predict_config(**values))


# ------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.hidden=0", "model.hidden=0: must be an integer >= 1"),
        ("model.hidden=-5", "model.hidden=-5: must be an integer >= 1"),
        ("model.hidden=ten", "model.hidden=ten: must be an integer >= 1"),
        ("model.depth=0", "model.depth=0: must be an integer >= 1"),
        ("trainer.max_epochs=0", "trainer.max_epochs=0: must be an integer >= 1"),
        ("cv.folds=1", "cv.folds=1: must be an integer >= 2 (or 0)"),
        ("split.test_size=1.5", "split.test_size=1.5: must be a number in (0, 1)"),
        ("split.val_size=0", "split.val_size=0: must be a number in (0, 1)"),
        ("early_stopping.patience=-1", "early_stopping.patience=-1: must be an integer >= 0"),
        ("ensemble.members=0", "ensemble.members=0: must be an integer >= 1"),
        ("decision.prior_power=-1", "decision.prior_power=-1: must be a number >= 0"),
        ("calibration.n_bins=0", "calibration.n_bins=0: must be an integer >= 1"),
        ("model.dropout=1", "model.dropout=1: must be a number in [0, 1)"),
        ("calibration.enabled=maybe", "calibration.enabled=maybe: must be true or false"),
    ],
)
def test_out_of_range_or_mistyped_values_are_one_line_before_any_work(tmp_path, override, message):
    run = tmp_path / "run"
    with pytest.raises(XnetError) as err:
        train(compose_config([*FAST, override]), run)
    assert str(err.value) == message
    assert not run.exists()


@pytest.mark.parametrize(
    "argv, config, closest",
    [
        (["model.hiden=10"], "train", "model.hidden"),
        (["+model.hiden=10"], "train", "model.hidden"),
        (["-m", "model.hiden=10,30"], "train", "model.hidden"),
        (["trainer.max_epoch=3"], "train", "trainer.max_epochs"),
        (["cv.fold=5"], "train", "cv.folds"),
        (["+data.lable=Class"], "train", "data.label"),
        (["chunk_sise=10"], "predict", "chunk_size"),
        (["flags.max_sumflag=2"], "predict", "flags.max_sum_flag"),
    ],
)
def test_mistyped_key_names_the_closest_real_key_and_gives_no_plus_advice(argv, config, closest):
    with pytest.raises(XnetError) as err:
        check_override_keys(argv, config, CONFIG_DIR)
    assert f"did you mean {closest}?" in str(err.value) and "+" not in str(err.value)


def test_real_keys_open_maps_and_group_choices_pass():
    check_override_keys(
        [
            "-m",
            "model.hidden=10,30",
            "data=csc_muwclass",
            "+data.columns.my_col=COL",
            "data.label_map.agn=AGN",
            "trainer.accelerator=cpu",
            "+trainer.gradient_clip_val=1",
            "hydra.run.dir=x",
            "experiment=study",
            "data.encoding=latin-1",
            "~data.filters",
            "+data.inputs={}",
            "+model.encoders.curve={}",
        ],
        "train",
        CONFIG_DIR,
    )
    check_override_keys(
        ["run=r", "input=i", "output=o", "overwrite=true", "flags.max_sum_flag=2"],
        "predict",
        CONFIG_DIR,
    )


@pytest.mark.parametrize(
    "argv, line",
    [
        (
            ["+model.hiden=10"],
            "xnet: error: model.hiden: no such config key; did you mean model.hidden?",
        ),
        (["model.hidden=0", "logger=none"], "xnet: error: model.hidden=0: must be an integer >= 1"),
    ],
)
def test_train_command_errors_are_xnet_error_lines_with_exit_2(
    tmp_path, monkeypatch, capsys, keep_logging, argv, line
):
    """The real `xnet.train` entry point, in-process: not Hydra's "Error executing job" report."""
    from xnet import train as train_command

    monkeypatch.setattr(sys, "argv", ["xnet.train", *argv, f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit) as exit_:
        train_command.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert (
        err.strip().splitlines()[-1] == line
        and "Error executing job" not in err
        and "HYDRA_FULL_ERROR" not in err
    )
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_python_api_refuses_mistyped_keys_too(tmp_path):
    from xnet import api

    with pytest.raises(
        XnetError, match=r"^model.hiden: no such config key; did you mean model.hidden\?$"
    ):
        api.train(["+model.hiden=10", *FAST], run_dir=tmp_path / "run")
    with pytest.raises(XnetError, match=r"did you mean chunk_size\?"):
        api.predict(tmp_path / "run", LIN_CSV, overrides=["chunk_sise=10"])
    assert not (tmp_path / "run").exists()


def test_predict_values_are_checked_against_the_schema(run_dir, tmp_path):
    with pytest.raises(XnetError, match=r"^chunk_size=0: must be an integer >= 1$"):
        predict(run=str(run_dir), input=str(LIN_CSV), output=str(tmp_path / "p.csv"), chunk_size=0)


# ------------------------------------------------------------------------------------ reader


def test_integer_labels_with_a_blank_cell_are_read_as_written(tmp_path):
    frame = labelled_rows()
    codes = {
        "AGN": "0",
        "LM-STAR": "1",
        "CV": "2",
        "NS": "3",
        "HMXB": "4",
        "HM-STAR": "5",
        "LMXB": "6",
        "NS_BIN": "7",
    }
    frame["Class"] = frame["Class"].map(codes)
    frame.loc[5, "Class"] = ""
    catalog = load_catalog(lin_cfg(write_csv(tmp_path / "codes.csv", frame)))
    assert set(catalog.classes) <= set(codes.values()) and "0" in catalog.classes
    assert len(catalog.frame) == len(frame) - 1


def test_near_duplicate_labels_are_an_error_and_label_map_merges_them(tmp_path):
    frame = labelled_rows()
    frame.loc[frame.index[frame["Class"] == "AGN"][:20], "Class"] = " agn"
    path = write_csv(tmp_path / "agn.csv", frame)
    with pytest.raises(
        XnetError,
        match=r"label column 'Class' spells one class in several ways: 'AGN' / 'agn'; "
        r"merge them with `label_map",
    ):
        load_catalog(lin_cfg(path))
    merged = load_catalog(lin_cfg(path, label_map={"agn": "AGN"}))
    assert (
        merged.classes
        == load_catalog(lin_cfg(write_csv(tmp_path / "ok.csv", labelled_rows()))).classes
    )
    assert (merged.frame["label"] == "AGN").sum() == (labelled_rows()["Class"] == "AGN").sum()


@pytest.mark.parametrize("column", ["HR1", "Class"])
def test_duplicate_column_names_are_an_error_naming_them_in_training_and_prediction(
    tmp_path, run_dir, column
):
    frame = labelled_rows()
    frame.insert(3, f"{column}_copy", frame[column])
    path = tmp_path / "dup.csv"
    write_csv(path, frame)
    text = path.read_text().replace(f"{column}_copy", column, 1)
    path.write_text(text)
    with pytest.raises(
        XnetError, match=rf"column '{column}' appears 2 times \('{column}', '{column}'\)"
    ):
        load_catalog(lin_cfg(path))
    with pytest.raises(XnetError, match=rf"column '{column}' appears 2 times"):
        predict(run=str(run_dir), input=str(path), output=str(tmp_path / "p.csv"))
    assert not (tmp_path / "p.csv").exists()


def test_upper_case_headers_follow_one_rule_in_training_and_prediction(tmp_path, run_dir):
    frame = labelled_rows()
    upper = write_csv(tmp_path / "upper.csv", frame.rename(columns=str.upper))
    lower = write_csv(tmp_path / "lower.csv", frame)
    a, b = load_catalog(lin_cfg(upper)), load_catalog(lin_cfg(lower))
    pd.testing.assert_frame_equal(a.frame, b.frame)
    out_upper, out_lower = tmp_path / "out_upper" / "p.csv", tmp_path / "out_lower" / "p.csv"
    for out, src in ((out_upper, upper), (out_lower, lower)):
        out.parent.mkdir()
        predict(run=str(run_dir), input=str(src), output=str(out), catalog="xmm_lin2024")
    got_upper, got_lower = pd.read_csv(out_upper), pd.read_csv(out_lower)
    assert len(got_upper) == len(frame)
    np.testing.assert_allclose(
        got_upper.filter(like="P_").to_numpy(), got_lower.filter(like="P_").to_numpy()
    )


def test_missing_column_error_lists_the_columns_seen(tmp_path):
    path = write_csv(tmp_path / "no_hr3.csv", labelled_rows().drop(columns=["HR3"]))
    with pytest.raises(
        XnetError,
        match=r"column 'HR3' \(for hr3\) not found \(columns in the file: name, ra, dec, poserr",
    ):
        load_catalog(lin_cfg(path))


def test_directory_as_data_path_says_it_is_a_directory(tmp_path):
    with pytest.raises(XnetError, match=r": is a directory; pass a catalog file"):
        load_catalog(lin_cfg(tmp_path))


def test_latin1_csv_names_the_file_and_the_encoding_key_and_encoding_is_honoured(tmp_path, run_dir):
    frame = labelled_rows()
    frame.loc[3, "name"] = "4XMM J000000.0+000000 Ré"
    path = write_csv(tmp_path / "latin.csv", frame, encoding="latin-1")
    with pytest.raises(XnetError) as err:
        load_catalog(lin_cfg(path))
    assert str(err.value).startswith(
        f"{path}: not valid utf-8 text"
    ) and "`encoding: latin-1`" in str(err.value)
    catalog = load_catalog(lin_cfg(path, encoding="latin-1"))
    assert catalog.frame["source_id"].iloc[3].endswith("Ré")
    with pytest.raises(
        XnetError, match=r"not valid utf-8 text .*`encoding: latin-1`"
    ):  # the same rule in predict
        predict(run=str(run_dir), input=str(path), output=str(tmp_path / "p.csv"))
    assert not (tmp_path / "p.csv").exists()


def test_semicolon_csv_says_it_seems_semicolon_delimited_and_delimiter_is_honoured(
    tmp_path, run_dir
):
    path = write_csv(tmp_path / "semi.csv", labelled_rows(), sep=";")
    with pytest.raises(
        XnetError, match=r"the file seems ';'-delimited, not ','; set `delimiter: ';'`"
    ):
        load_catalog(lin_cfg(path))
    with pytest.raises(XnetError, match=r"the file seems ';'-delimited"):
        predict(run=str(run_dir), input=str(path), output=str(tmp_path / "p.csv"))
    assert len(load_catalog(lin_cfg(path, delimiter=";")).frame) == 300


def test_csv_cut_mid_line_warns_and_cut_mid_number_is_an_error(tmp_path, caplog):
    path = write_csv(tmp_path / "whole.csv", labelled_rows())
    text = path.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    n_lines = text.count("\n")
    # cut just after a field separator: a short last line, read with its missing fields empty
    cut_at_comma = text[
        : len(text)
        - len(last)
        - 1
        + last.index(",", last.index("AGN") if "AGN" in last else 40)
        + 2
    ]
    (tmp_path / "comma.csv").write_text(cut_at_comma.rstrip("0123456789.e-"))
    with caplog.at_level(logging.WARNING):
        catalog = load_catalog(lin_cfg(tmp_path / "comma.csv"))
    assert any(
        f"line {n_lines}, the last, has" in r.message and "looks cut short" in r.message
        for r in caplog.records
    )
    assert len(catalog.frame) == 300
    # cut inside a number
    number_cut = text[: text.rindex("E-1") + 2]
    (tmp_path / "number.csv").write_text(number_cut)
    with pytest.raises(
        XnetError,
        match=rf"line {n_lines}, the last, has \d+ of 46 fields and no line end: the file is cut "
        r"at the number '[-0-9.]+E-', which may be incomplete",
    ):
        load_catalog(lin_cfg(tmp_path / "number.csv"))


# ------------------------------------------------------------------------------------ predict


@pytest.mark.parametrize("how", ["same_path", "other_path", "symlink", "hard_link"])
def test_predict_refuses_to_write_over_its_input_whatever_overwrite_says(tmp_path, run_dir, how):
    source = write_csv(tmp_path / "cat.csv", labelled_rows())
    before = source.read_bytes()
    output = {
        "same_path": source,
        "other_path": tmp_path / "sub" / ".." / "cat.csv",
        "symlink": tmp_path / "link.csv",
        "hard_link": tmp_path / "hard.csv",
    }[how]
    (tmp_path / "sub").mkdir()
    if how == "symlink":
        output.symlink_to(source)
    if how == "hard_link":
        os.link(source, output)
    with pytest.raises(
        XnetError, match=r"is the input catalog .*overwrite=true never replaces the input"
    ):
        predict(run=str(run_dir), input=str(source), output=str(output), overwrite=True)
    assert source.read_bytes() == before


def test_random_bytes_as_checkpoint_say_not_a_checkpoint(tmp_path):
    bogus = tmp_path / "random.ckpt"
    bogus.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(
        XnetError, match=r"random.ckpt: not a checkpoint \(corrupt or not a torch file\)"
    ):
        predict(run=str(bogus), input=str(LIN_CSV), output=str(tmp_path / "p.csv"))


def _ckpt(run_dir):
    return next((run_dir / "checkpoints").glob("*.ckpt"))


def test_checkpoint_records_version_and_feature_schema_and_refuses_another_schema(
    tmp_path, run_dir
):
    checkpoint = torch.load(_ckpt(run_dir), weights_only=True)
    assert checkpoint["xnet_version"] and checkpoint["feature_schema"]["version"] == FEATURE_SCHEMA
    assert (
        checkpoint["feature_schema"]["feature_names"]
        == checkpoint["XrayDataModule"]["feature_names"]
    )
    other = dict(
        checkpoint,
        feature_schema=dict(checkpoint["feature_schema"], version=FEATURE_SCHEMA + 1),
        xnet_version="9.0",
    )
    torch.save(other, tmp_path / "future.ckpt")
    with pytest.raises(
        XnetError,
        match=rf"features were computed with feature schema {FEATURE_SCHEMA + 1} \(xnet 9.0\)",
    ):
        predict(
            run=str(tmp_path / "future.ckpt"), input=str(LIN_CSV), output=str(tmp_path / "p.csv")
        )
    old = {
        k: v
        for k, v in checkpoint.items()
        if k not in ("xnet_version", "xnet_checkpoint_format", "feature_schema")
    }
    torch.save(old, tmp_path / "old.ckpt")
    summary = predict(
        run=str(tmp_path / "old.ckpt"), input=str(LIN_CSV), output=str(tmp_path / "p.csv")
    )
    assert summary["rows"] > 0


def test_stale_partial_files_of_the_same_output_are_removed_on_the_next_run(tmp_path, run_dir):
    out = tmp_path / "p.csv"
    dead = tmp_path / ".p.csv.999999999.abc.part"  # no such process
    unnamed = tmp_path / ".p.csv.xyz.part"  # written before parts carried a process id
    live = tmp_path / f".p.csv.{os.getppid()}.def.part"  # a writer still running
    other = tmp_path / ".q.csv.999999999.abc.part"  # another output's
    for p in (dead, unnamed, live, other):
        p.write_text("partial")
    predict(run=str(run_dir), input=str(LIN_CSV), output=str(out))
    assert (
        out.exists()
        and not dead.exists()
        and not unnamed.exists()
        and live.exists()
        and other.exists()
    )


@pytest.mark.parametrize("signal_or_key", ["sigterm", "ctrl_c"])
def test_sigterm_and_ctrl_c_during_a_prediction_leave_nothing(
    tmp_path, run_dir, monkeypatch, capsys, signal_or_key
):
    from xnet.predict import (
        chunks as predict_chunks,
    )  # predict() imports predict_chunk from here when it runs

    real = predict_chunks.predict_chunk
    calls = []

    def interrupted_after_one_chunk(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            if signal_or_key == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(predict_chunks, "predict_chunk", interrupted_after_one_chunk)
    cfg = predict_config(
        run=str(run_dir), input=str(LIN_CSV), output=str(tmp_path / "p.csv"), chunk_size=100
    )
    with pytest.raises(SystemExit) as exit_:
        exit_on_error(lambda: predict_job.predict(cfg), unfinished="nothing written")
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == {"sigterm": 143, "ctrl_c": 130}[signal_or_key]
    assert (
        err[-1]
        == {
            "sigterm": "xnet: terminated; nothing written",
            "ctrl_c": "xnet: interrupted; nothing written",
        }[signal_or_key]
    )
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is not None and len(calls) == 2


# ------------------------------------------------------------------- property-based: messy tables


#: the columns the default run reads (its features' inputs, id, position, label) and some others
NEEDED = [
    "name",
    "ra",
    "dec",
    "Class",
    "F8",
    "HR1",
    "HR2",
    "HR3",
    "HR4",
    "sc_chi2prob",
    "sc_fvar",
    "sc_extent",
    "sc_ep_8_fmin",
    "sc_ep_8_fmax",
    "sc_sum_flag",
]
NUMERIC = [c for c in NEEDED if c not in ("name", "Class")]
MESSY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@st.composite
def messy_tables(draw) -> tuple[str, pd.DataFrame | str]:
    """A small catalog in the bundled slice's schema with a few things wrong: returns the CSV text
    and the number of data rows."""
    base = labelled_rows(60)
    n = draw(st.sampled_from([0, 1, 2, 7, 25]))
    frame = base.sample(
        n=n, random_state=draw(st.integers(0, 1000)), replace=n > len(base)
    ).reset_index(drop=True)
    frame = frame.astype(object)
    for _ in range(draw(st.integers(0, 3))):
        if not n:
            break
        row = draw(st.integers(0, n - 1))
        kind = draw(st.sampled_from(["text", "nan", "inf", "-inf", "huge", "tiny", "blank"]))
        value = {
            "text": "bright",
            "nan": "NaN",
            "inf": "inf",
            "-inf": "-inf",
            "huge": "1e308",
            "tiny": "-1e-300",
            "blank": "",
        }[kind]
        frame.loc[row, draw(st.sampled_from(NUMERIC))] = value
    if n and draw(st.booleans()):
        frame.loc[draw(st.integers(0, n - 1)), "name"] = draw(
            st.sampled_from(["Ωμέγα ☃ 1", "源 J0001", "Ré ñ"])
        )
    labels = draw(
        st.sampled_from(["as_is", "integers", "integers_blank", "case_variant", "space_variant"])
    )
    if labels.startswith("integers"):
        frame["Class"] = frame["Class"].map({"AGN": "0", "LM-STAR": "1", "CV": "2"}).fillna("3")
        if labels == "integers_blank" and n:
            frame.loc[0, "Class"] = ""
    elif labels != "as_is" and n:
        frame.loc[n - 1, "Class"] = {"case_variant": "agn", "space_variant": " AGN "}[labels]
    header = list(frame.columns)
    for _ in range(draw(st.integers(0, 2))):
        column = draw(st.sampled_from(NEEDED))
        edit = draw(st.sampled_from(["drop", "duplicate", "upper", "lower"]))
        if column not in header:
            continue
        i = header.index(column)
        if edit == "drop":
            frame, header = frame.drop(columns=[column]), [h for h in header if h != column]
        elif edit == "duplicate":
            frame.insert(len(header), f"__dup{len(header)}", frame[column])
            header = header + [column]
        else:
            header[i] = column.upper() if edit == "upper" else column.lower()
    lines = [",".join(header)] + [",".join(map(str, r)) for r in frame.astype(str).to_numpy()]
    return "\n".join(lines) + "\n", n


def _one_line(err: XnetError) -> None:
    from hypothesis import event

    event(f"error: {str(err).split(': ', 1)[-1][:40]}")
    assert str(err) and "\n" not in str(err) and "Traceback" not in str(err)


@MESSY_SETTINGS
@given(table=messy_tables())
def test_catalog_reader_on_messy_tables_gives_a_catalog_or_one_line(table):
    import tempfile

    text, n = table
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "messy.csv")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            catalog = load_catalog(lin_cfg(path))
        except XnetError as err:
            _one_line(err)
        else:
            from hypothesis import event

            event("catalog read")
            labels = catalog.frame["label"]
            assert 0 < len(catalog.frame) <= n
            assert all(
                isinstance(v, str) and v == v.strip() and not v.endswith(".0") for v in labels
            )
            assert len({v.casefold() for v in labels}) == labels.nunique()
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == text  # never a changed input


@MESSY_SETTINGS
@given(table=messy_tables(), fmt=st.sampled_from(["csv", "parquet"]))
def test_predict_on_messy_tables_writes_every_row_or_nothing(run_dir, table, fmt):
    import tempfile

    text, n = table
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "messy.csv")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        out_dir = os.path.join(folder, "out")
        os.mkdir(out_dir)
        output = os.path.join(out_dir, f"p.{fmt}")
        try:
            summary = predict(run=str(run_dir), input=path, output=output)
        except XnetError as err:
            _one_line(err)
            assert os.listdir(out_dir) == []  # no output, no partial file
        else:
            from hypothesis import event

            event("predicted")
            written = pd.read_parquet(output) if fmt == "parquet" else pd.read_csv(output)
            assert summary["rows"] == len(written) == n
            assert not [f for f in os.listdir(out_dir) if f.endswith(".part")]
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == text


@pytest.mark.cli
@pytest.mark.parametrize(
    "args, line",
    [
        (["-m", "model.hidden=-5,3"], "xnet: error: model.hidden=-5: must be an integer >= 1"),
        (
            ["+model.hiden=10"],
            "xnet: error: model.hiden: no such config key; did you mean model.hidden?",
        ),
    ],
)
def test_train_and_sweep_command_lines_print_one_error_line_and_exit_2(tmp_path, args, line):
    from conftest import run_cli

    result = run_cli(
        "xnet.train",
        *args,
        *FAST,
        f"hydra.run.dir={tmp_path / 'run'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == line
    assert (
        "Traceback" not in result.stderr + result.stdout and "HYDRA_FULL_ERROR" not in result.stderr
    )
    assert not list(tmp_path.rglob("metrics.json"))
