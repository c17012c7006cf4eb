"""The light-curve demo's command lines as a user types them (a small simulated set): training with
CV writes metrics.json, TensorBoard (with the example light curves), checkpoints and exports; a
sweep over the encoder's width; `xnet.predict` with the run; bad light-curve input is one line."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

SMALL = [
    "experiment=lightcurve_demo",
    "data.generate.n_sources=160",
    "data.lightcurves.binning.bins=32",
    "model.encoders.lightcurve.pool=2",
    "split.min_class_count=6",
    "trainer.max_epochs=5",
    "progress=false",
]
pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return {"XNET_DATA_HOME": str(tmp_path_factory.mktemp("data_home"))}


def test_demo_trains_with_cv_and_writes_everything(tmp_path, home):
    run = tmp_path / "run"
    result = run_cli("xnet.train", *SMALL, f"hydra.run.dir={run}", env=home)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = pd.read_json(run / "metrics.json", typ="series")
    assert metrics["cv_folds"] == 5 and "pooled_out_of_fold" in metrics["lightcurves"]
    assert len(list(run.glob("checkpoints/fold_*-best.ckpt"))) == 5
    assert len(list(run.glob("checkpoints/fold_*-best.npz"))) == 5
    assert (run / "lightcurves_per_class.png").exists()
    board = EventAccumulator(str(run / "tensorboard"))
    board.Reload()
    assert "lightcurves/examples_per_class" in board.Tags()["images"]

    folder = home["XNET_DATA_HOME"] + "/lightcurve_demo/v1-n160-seed0"
    out = tmp_path / "predicted.parquet"
    result = run_cli(
        "xnet.predict",
        f"run={run}",
        f"input={folder}/catalog.csv",
        f"output={out}",
        f"lightcurves.path={folder}/xmm",
        env=home,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(pd.read_parquet(out)) == 160
    missing = tmp_path / "nowhere"
    result = run_cli(
        "xnet.predict",
        f"run={run}",
        f"input={folder}/catalog.csv",
        f"output={tmp_path / 'not_written.parquet'}",
        f"lightcurves.path={missing}",
        env=home,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"xnet: error: {missing}")
    assert not (tmp_path / "not_written.parquet").exists()


def test_sweep_over_the_encoder_width(tmp_path, home):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "xnet.train",
        "-m",
        *SMALL,
        "cv.folds=2",
        "model.encoders.lightcurve.channels=4,8",
        f"hydra.sweep.dir={sweep}",
        env=home,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (sweep / "0" / "metrics.json").exists() and (sweep / "1" / "metrics.json").exists()
    runs = sorted(
        p.name for p in (sweep / "tensorboard").iterdir() if p.is_dir() and p.name[0] != "."
    )
    assert runs == ["channels=4", "channels=8"]


def test_a_light_curve_without_a_catalog_row_is_one_line(tmp_path, home):
    from xnet.testing.lightcurves.demo import simulate_sources, write_sources

    frame, curves = simulate_sources(40, seed=5)
    write_sources(tmp_path / "set", frame, curves, ["xmm"])
    orphan = next(iter(curves))  # its light curve stays, its catalog row goes
    frame.drop(index=orphan).to_csv(tmp_path / "set" / "catalog.csv", index=False)
    run = tmp_path / "run"
    result = run_cli(
        "xnet.train",
        *SMALL,
        f"data.path={tmp_path / 'set' / 'catalog.csv'}",
        f"data.lightcurves.path={tmp_path / 'set' / 'xmm'}",
        f"hydra.run.dir={run}",
        env=home,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if "has no catalog row" in line]
    assert len(lines) == 1 and "SRCTSR" in lines[0]
    assert not (run / "metrics.json").exists()
