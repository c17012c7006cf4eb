"""Issue 8 (speed) without changing results: the NumPy export that `xnet.predict` loads instead of
torch, the light imports of `--help` and prediction, cached data figures."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import LIN_CSV, compose_config

from xnet.models.artifacts.export import read_export
from xnet.models.artifacts.layout import export_path
from xnet.predict import predict, probability_column
from xnet.training import train

LIN_PROBS = [probability_column(c) for c in ("AGN", "CV", "LM-STAR")]


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("speed") / "run"
    train(
        compose_config(
            ["cv.folds=2", "trainer.max_epochs=20", "logger=none", "figures.enabled=false"]
        ),
        run,
    )
    return run


def _predict(run, out):
    from test_predict import predict_config

    predict(
        predict_config(
            run=str(run), input=str(LIN_CSV), output=str(out), progress=False, overwrite=True
        )
    )
    return pd.read_parquet(out)


def test_numpy_export_gives_the_torch_probabilities(cv_run, tmp_path):
    """Every checkpoint has a current export; predict through it == predict through torch (exports
    removed: the fallback for older runs) to 1e-6, same classes, flags and columns."""
    cv_run = shutil.copytree(cv_run, tmp_path / "run")
    ckpts = [cv_run / f"checkpoints/fold_{k}-best.ckpt" for k in (0, 1)]
    assert all(read_export(c) is not None for c in ckpts)
    fast = _predict(cv_run, tmp_path / "numpy.parquet")
    saved = tmp_path / "exports"
    saved.mkdir()
    for c in ckpts:
        shutil.move(export_path(c), saved / export_path(c).name)
    slow = _predict(cv_run, tmp_path / "torch.parquet")
    assert list(fast.columns) == list(slow.columns) and len(fast) == 1008
    np.testing.assert_allclose(
        fast[LIN_PROBS].to_numpy(), slow[LIN_PROBS].to_numpy(), atol=1e-6, rtol=0
    )
    assert (fast["pred_class"].astype(str) == slow["pred_class"].astype(str)).all()
    assert (fast["flag"].astype(str) == slow["flag"].astype(str)).all()
    # an export that does not belong to its checkpoint (the .ckpt was replaced) is ignored
    shutil.copy(saved / export_path(ckpts[0]).name, export_path(ckpts[1]))
    assert read_export(ckpts[1]) is None


def test_predict_and_help_import_neither_torch_nor_scikit_learn(cv_run, tmp_path):
    """`xnet.train --help`'s imports and a whole prediction of an (unlabelled) catalog load none of
    torch, Lightning, scikit-learn, scipy, matplotlib or the attribution libraries (explain=0)."""
    from xnet.testing.mock_catalog import slim_table, write_table

    catalog = write_table(tmp_path / "slim.fits", slim_table(200, seed=3))
    code = (
        "import sys, xnet.train\n"
        "from xnet.predict.job import predict\n"
        f"predict(dict(run={str(cv_run)!r}, input={str(catalog)!r}, "
        f"output={str(tmp_path / 'p.csv')!r}, progress=False))\n"
        "print(sorted(m for m in ('torch', 'lightning', 'sklearn', 'matplotlib', 'scipy', "
        "'captum', 'shap') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[]"
    assert len(pd.read_csv(tmp_path / "p.csv")) == 200


def test_data_figures_are_drawn_once_and_copied_into_each_run(tmp_path, caplog):
    """Two runs on the same data: the second copies the cached data figures (same bytes, same
    TensorBoard tags) and draws only its confusion matrices; other data draws anew."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.splits import make_splits
    from xnet.plotting.figure_cache import cache_dir, content_key
    from xnet.plotting.run_figures import write_run_figures

    cfg = compose_config()
    data = prepare_labelled_set(cfg.data, cfg.features, cfg.split.min_class_count)
    split = next(make_splits(data.y, cfg.split, 0, 1))
    cm = np.diag(np.bincount(data.y[split.test]))
    runs = []
    for k in (1, 2):
        writer = SummaryWriter(str(tmp_path / f"tb{k}"))
        caplog.clear()  # after the loop: the second run's records only
        with caplog.at_level("INFO", logger="xnet.plotting.figure_cache"):
            runs.append(write_run_figures(tmp_path / f"run{k}", data, split, cm, tb_writer=writer))
        writer.close()
    # (other loggers may log after it when an earlier test set the root logger to INFO)
    cached = [r.getMessage() for r in caplog.records if r.name == "xnet.plotting.figure_cache"]
    assert cached and "copied from the cache" in cached[-1] and runs[0] == runs[1]
    folder = cache_dir() / content_key(data, split)
    for name in (
        "sky_galactic",
        "class_shares",
        "features_scaled",
        "missing_values",
        "hardness_hr1_hr2",
    ):
        png = (tmp_path / "run2" / f"{name}.png").read_bytes()
        assert (
            png
            == (tmp_path / "run1" / f"{name}.png").read_bytes()
            == (folder / f"{name}.png").read_bytes()
        )
    assert (tmp_path / "run2" / "missing_values.csv").read_text() == (
        tmp_path / "run1" / "missing_values.csv"
    ).read_text()
    assert (tmp_path / "run2" / "confusion_counts.png").exists() and not (
        folder / "confusion_counts.png"
    ).exists()
    for k in (1, 2):
        events = EventAccumulator(str(tmp_path / f"tb{k}"), size_guidance={"images": 0})
        events.Reload()
        assert {f"figures/{n}" for n in runs[0] if n != "missing_values_csv"} <= set(
            events.Tags()["images"]
        )
    other = next(
        make_splits(data.y, cfg.split, 0, 2)
    )  # another split: other training rows, other histograms
    assert content_key(data, other) != content_key(data, split)


def test_data_figures_drawn_ahead_in_a_child_are_the_in_process_figures(tmp_path, monkeypatch):
    """A first run starts its data figures in a forked child before training (`draw_ahead`); the
    run then copies the child's files, byte for byte what drawing them in-process gives, and the
    stack's torch threads leave the child's core alone."""
    import multiprocessing

    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.splits import make_splits
    from xnet.plotting import figure_cache
    from xnet.plotting.data_figures import write_data_figures
    from xnet.runtime.cores import busy_cores

    monkeypatch.setenv("XNET_DATA_HOME", str(tmp_path / "home"))
    cfg = compose_config()
    data = prepare_labelled_set(cfg.data, cfg.features, cfg.split.min_class_count)
    split = next(make_splits(data.y, cfg.split, 0, 1))
    figure_cache.draw_ahead(data, split)
    ((*_, child),) = [v for k, v in figure_cache._AHEAD.items() if k == (id(data), id(split))]
    assert (
        child.pid != multiprocessing.current_process().pid
        and child.is_alive()
        and busy_cores() >= 1
    )
    written = figure_cache.cached_data_figures(tmp_path / "run", data, split)
    assert child.exitcode == 0 and (id(data), id(split)) not in figure_cache._AHEAD
    assert written == write_data_figures(tmp_path / "here", data, split)
    for name, file_name in written.items():
        assert (tmp_path / "run" / file_name).read_bytes() == (
            tmp_path / "here" / file_name
        ).read_bytes(), name
    figure_cache.draw_ahead(data, split)  # cached now: nothing to draw
    assert (id(data), id(split)) not in figure_cache._AHEAD


def _sklearn_rule(scores, tol=1e-4, n_iter_no_change=60):
    """scikit-learn's MLPClassifier._update_no_improvement_count with early_stopping=True, epoch by
    epoch: (epoch of the kept weights, epoch it stops at)."""
    best, best_epoch, count = -np.inf, 0, 0
    for epoch, score in enumerate(scores):
        count = count + 1 if score < best + tol else 0
        if score > best:
            best, best_epoch = score, epoch
        if count > n_iter_no_change:
            return best_epoch, epoch
    return best_epoch, None


def test_early_stopping_study_is_scikit_learns_rule():
    """`early_stopping=study`: validation accuracy, tol 1e-4, scikit-learn's stop epoch and kept
    weights on sequences with plateaus, tiny rises (< tol) and ties, member by member."""
    import torch

    from xnet.models.early_stopping import MemberEarlyStopping

    cfg = compose_config(["early_stopping=study"]).early_stopping
    assert (cfg.monitor, cfg.mode, cfg.min_delta) == ("val/accuracy", "max", 1e-4)
    rng = np.random.default_rng(0)
    n, epochs = 6, 400
    steps = rng.choice([0.0, 0.0, 0.0, 5e-5, 1e-4, 2e-3, -1e-3], size=(n, epochs))
    # as the trainer computes them: float32 accuracies
    scores = (
        (0.5 + np.cumsum(steps, axis=1) * (np.arange(n)[:, None] % 3 + 1) / 3)
        .astype(np.float32)
        .astype(float)
    )
    stopping = MemberEarlyStopping(
        n, str(cfg.monitor), str(cfg.mode), int(cfg.patience), float(cfg.min_delta)
    )
    for epoch in range(epochs):
        stopping.update(epoch, torch.tensor(scores[:, epoch], dtype=torch.float32))
    for k in range(n):
        best_epoch, stop = _sklearn_rule(scores[k])
        assert int(stopping.best_epoch[k]) == best_epoch
        assert bool(stopping.stopped[k]) == (stop is not None) and (
            stop is None or int(stopping.stop_epoch[k]) == stop
        )


def test_training_progress_on_request_and_quiet_off_a_terminal(tmp_path, capsys):
    """progress=true shows epochs, networks still training and the best validation score; the
    default (auto) stays quiet when stderr is not a terminal, as under pytest."""
    train(
        compose_config(
            [
                "cv.folds=2",
                "trainer.max_epochs=4",
                "logger=none",
                "figures.enabled=false",
                "progress=true",
            ]
        ),
        tmp_path / "a",
    )
    shown = capsys.readouterr().err
    assert "xnet.train (2 networks)" in shown
    assert "4/4" in shown.split("\r")[-1] and "training 2/2, best val/loss" in shown.split("\r")[-1]
    train(
        compose_config(["trainer.max_epochs=4", "logger=none", "figures.enabled=false"]),
        tmp_path / "b",
    )
    assert "xnet.train" not in capsys.readouterr().err


def test_per_epoch_scalars_written_in_bulk_for_every_epoch_each_member_trained(tmp_path):
    """Buffered TensorBoard rows: every fold has its scalars (per-class curves too) at every epoch
    it trained, up to and including the one it stopped at, and none after."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    metrics = train(
        compose_config(
            [
                "cv.folds=2",
                "trainer.max_epochs=60",
                "early_stopping.patience=4",
                "figures.enabled=false",
            ]
        ),
        run,
    )
    for k, fold in enumerate(metrics["folds"]):
        events = EventAccumulator(str(run / "tensorboard" / "members" / f"fold_{k}"))
        events.Reload()
        steps = [e.step for e in events.Scalars("val/loss")]
        assert steps == list(range(fold["epochs"])) and fold["epochs"] < 60
        assert [e.step for e in events.Scalars("val/acc_CV")] == steps
        assert [e.step for e in events.Scalars("train/loss")] == steps


def test_threads_split_rows_and_write_behind_give_the_same_file(cv_run, tmp_path):
    """`workers=2` (rows split between two threads, whole batches each) and the writer thread give
    byte-for-byte the table of one thread; 1,008 rows in chunks of 300 and batches of 64."""
    from test_predict import predict_config

    tables = {}
    for workers in (1, 2, 3):
        out = tmp_path / f"w{workers}.parquet"
        predict(
            predict_config(
                run=str(cv_run),
                input=str(LIN_CSV),
                output=str(out),
                progress=False,
                workers=workers,
                chunk_size=300,
                batch_size=64,
            )
        )
        tables[workers] = pd.read_parquet(out)
    assert len(tables[1]) == 1008
    pd.testing.assert_frame_equal(tables[1], tables[2])
    pd.testing.assert_frame_equal(tables[1], tables[3])


def test_row_threads_cut_at_batch_edges():
    from xnet.predict.forward import RowThreads

    seen = []
    with RowThreads(3) as threads:
        out = threads.map(lambda part: seen.append(len(part)) or part * 2, np.arange(1000.0), 64)
    np.testing.assert_array_equal(out, np.arange(1000.0) * 2)
    assert sorted(seen) == [296, 320, 384]  # 16 batches of 64 (the last of 40): 5, 6 and 5 of them


def test_pause_and_resume_the_collector():
    """`resume` without `pause` (a library caller) only imports; after `pause` it freezes what is
    alive and turns collection back on."""
    import gc

    from xnet.runtime import startup

    before = gc.get_freeze_count()
    startup.resume("json")
    assert gc.isenabled() and gc.get_freeze_count() == before
    try:
        startup.pause()
        assert not gc.isenabled()
        startup.resume("json")
        assert gc.isenabled() and gc.get_freeze_count() > before
    finally:
        gc.enable()
        gc.unfreeze()


def test_benchmark_sources_are_distinct_and_drawn_within_their_errors():
    """Issue 24: the speed benchmarks' larger Chandra files hold distinct sources (unique ids, every
    value redrawn), not copies of the bundled rows that xnet would group and scikit-learn not."""
    from xnet.testing.distinct_sources import CSC_CSV, distinct_sources

    base = pd.read_csv(CSC_CSV)
    table = distinct_sources(4000, seed=3)
    assert table["CSCv2_name"].is_unique and list(table.columns) == list(base.columns)
    assert table.equals(distinct_sources(4000, seed=3))
    source = base.set_index("CSCv2_name").loc[table["CSCv2_name"].str.split("#").str[0]]
    for column, err in (("Fb", "e_Fb"), ("Gmag", "e_Gmag")):
        value, drawn = source[column].to_numpy(), table[column].to_numpy()
        assert (np.isnan(value) == np.isnan(drawn)).all()  # missing stays missing
        quoted = np.isfinite(value) & (source[err].to_numpy() > 0)
        z = (drawn - value)[quoted] / source[err].to_numpy()[quoted]
        assert (drawn[quoted] != value[quoted]).mean() > 0.95 and 0.8 < np.std(z) < 1.2
    assert table["Fb"].min() > 0 and table["P_intra"].dropna().between(0, 1).all()
    ratio = table["PM"].to_numpy() / source["PM"].to_numpy()  # no error quoted: 3 % scatter
    assert 0.02 < np.nanstd(ratio) < 0.04
