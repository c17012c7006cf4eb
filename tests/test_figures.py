"""The study's figures for a run and a sweep, drawn from the real bundled catalogs."""

import functools
import json

import numpy as np
import pandas as pd
import pytest
from conftest import compose_config
from omegaconf import OmegaConf

from xnet.data.labelled import prepare_labelled_set
from xnet.data.splits import make_splits
from xnet.plotting.data_figures import galactic, missing_values_table
from xnet.plotting.png import png_size
from xnet.plotting.run_figures import write_run_figures
from xnet.runs.sweep import collect_widths, write_width_figure

RUN_FIGURES = [
    "class_shares",
    "sky_galactic",
    "features_raw",
    "features_scaled",
    "missing_values",
    "confusion_counts",
    "confusion_normalized",
]


def labelled(data: str, features: str = "xray"):
    cfg = compose_config([f"data={data}", f"features={features}"])
    return prepare_labelled_set(cfg.data, cfg.features, 10), cfg


def assert_png(path):
    assert path.exists(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


def test_galactic_coordinates_of_known_points():
    # the Galactic centre and the north Galactic pole (J2000)
    l_deg, b_deg = galactic(np.array([266.40499, 192.85948]), np.array([-28.93617, 27.12825]))
    assert l_deg[0] == pytest.approx(0.0, abs=0.01) or l_deg[0] == pytest.approx(360.0, abs=0.01)
    assert b_deg[0] == pytest.approx(0.0, abs=0.01) and b_deg[1] == pytest.approx(90.0, abs=0.01)


def test_xmm_run_writes_every_study_figure_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    data, cfg = labelled("xmm_lin2024")
    split = next(make_splits(data.y, cfg.split, 0, 1))
    cm = np.diag(np.bincount(data.y[split.test]))
    writer = SummaryWriter(str(tmp_path / "tb"))
    written = write_run_figures(tmp_path, data, split, cm, tb_writer=writer)
    writer.close()
    names = RUN_FIGURES + ["hardness_hr1_hr2", "hardness_hr3_hr4"]
    for name in names:
        assert written[name] == f"{name}.png"
        assert_png(tmp_path / f"{name}.png")
    assert not (tmp_path / "hardness_hr_ms_hr_hm.png").exists()  # XMM has no Chandra bands
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    assert {f"figures/{n}" for n in names} <= set(events.Tags()["images"])
    for name in (
        "confusion_counts",
        "features_raw",
    ):  # drawn once: TensorBoard holds the file's own PNG
        image = events.Images(f"figures/{name}")[0]
        png = (tmp_path / f"{name}.png").read_bytes()
        assert image.encoded_image_string == png
        assert (image.width, image.height) == png_size(png)

    # missing values per class and feature: counts that add up to the catalog's NaNs
    table = pd.read_csv(tmp_path / "missing_values.csv", index_col="class")
    assert list(table.index) == data.classes + ["all"]
    assert list(table.columns) == ["n", *data.spec.features]
    assert table.loc["all", "n"] == len(data.y) == table.loc[data.classes, "n"].sum()
    nan_counts = np.isnan(data.x[:, : len(data.spec.features)]).sum(axis=0)
    assert (table.loc["all", data.spec.features].to_numpy() == nan_counts).all()
    assert (table.loc[data.classes, data.spec.features].sum().to_numpy() == nan_counts).all()
    assert (
        table.loc["all", "fvar"] > 0 and table.loc["all", "log_flux"] == 0
    )  # the study's note: Fvar mostly missing


def test_chandra_run_draws_its_own_hardness_ratios(tmp_path):
    data, cfg = labelled("csc_muwclass")
    split = next(make_splits(data.y, cfg.split, 5, 1))
    written = write_run_figures(tmp_path, data, split, confusion_matrix=None)
    for name in (
        "hardness_hr_ms_hr_hm",
        "hardness_hr_hm_hr_hms",
        "sky_galactic",
        "features_scaled",
    ):
        assert_png(tmp_path / f"{name}.png")
    assert "hardness_hr1_hr2" not in written and "confusion_counts" not in written


def test_missing_values_table_per_class():
    data, _ = labelled("csc_muwclass", "xray_mw")
    table = missing_values_table(data)
    # no NS source has Gaia G in the Chandra set but two (README: 2 % have counterparts)
    assert table.loc["NS", "n"] == 87 and table.loc["NS", "gaia_g"] >= 80
    assert table.loc["AGN", "hr_ms"] == 0


def fake_job(sweep, num, hidden, train, val, test, extra=()):
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"model": {"hidden": hidden}}), job / ".hydra" / "config.yaml")
    OmegaConf.save(
        OmegaConf.create([f"model.hidden={hidden}", *extra]), job / ".hydra" / "overrides.yaml"
    )
    payload = {
        "accuracy": test,
        "balanced_accuracy": test - 0.1,
        "macro_f1": test - 0.2,
        "mean": {"accuracy": test, "balanced_accuracy": test - 0.1},
    }
    if train is not None:
        payload["mean"].update(
            {
                "train": {"accuracy": train, "balanced_accuracy": train - 0.1},
                "val": {"accuracy": val, "balanced_accuracy": val - 0.1},
            }
        )
    (job / "metrics.json").write_text(json.dumps(payload))


def test_sweep_over_width_writes_accuracy_against_width(tmp_path):
    for num, (hidden, train, test) in enumerate(
        [(1, 0.70, 0.69), (10, 0.88, 0.86), (100, 0.97, 0.88)]
    ):
        fake_job(tmp_path, num, hidden, train, train - 0.01, test)
    jobs = collect_widths(tmp_path, "accuracy")
    assert [j["hidden"] for j in jobs] == [1, 10, 100]
    assert [j["train"] for j in jobs] == [0.70, 0.88, 0.97] and jobs[2]["test"] == 0.88
    ranked = collect_widths(tmp_path)  # the sweep's ranking metric: balanced accuracy
    assert [j["train"] for j in ranked] == pytest.approx([0.60, 0.78, 0.87])
    path = write_width_figure(tmp_path)
    assert path == tmp_path / "accuracy_vs_width.png"
    assert_png(path)


def test_width_figure_colours_each_depth_and_styles_each_part():
    """Issue 23: with depth varying too, a depth keeps one colour; train, validation and test
    keep one line style each; the y axis names the metric."""
    from xnet.plotting.draw import plt
    from xnet.plotting.sweep import accuracy_vs_width_figure

    curves = {
        (group, part): [0.5, 0.6]
        for group in ("model.depth=1", "model.depth=2")
        for part in ("train", "validation", "test")
    }
    fig = accuracy_vs_width_figure([10, 30], curves, ylabel="balanced accuracy")
    lines = fig.axes[0].get_lines()
    colours = {line.get_label(): line.get_color() for line in lines}
    styles = {line.get_label(): line.get_linestyle() for line in lines}
    for group in ("model.depth=1", "model.depth=2"):
        assert len({colours[f"{part} ({group})"] for part in ("train", "validation", "test")}) == 1
    assert colours["test (model.depth=1)"] != colours["test (model.depth=2)"]
    assert (
        styles["train (model.depth=1)"]
        == styles["train (model.depth=2)"]
        != styles["test (model.depth=2)"]
    )
    assert fig.axes[0].get_ylabel() == "balanced accuracy"
    plt.close(fig)


def test_width_figure_only_for_sweeps_over_width(tmp_path):
    fake_job(tmp_path, 0, 30, 0.9, 0.9, 0.9, extra=["model.depth=1"])
    fake_job(tmp_path, 1, 30, 0.9, 0.9, 0.9, extra=["model.depth=2"])
    assert write_width_figure(tmp_path) is None
    # without recorded training accuracy the test curve is still drawn
    fake_job(tmp_path / "old", 0, 4, None, None, 0.8)
    fake_job(tmp_path / "old", 1, 16, None, None, 0.85)
    assert np.isnan(collect_widths(tmp_path / "old")[0]["train"])
    assert_png(write_width_figure(tmp_path / "old"))


@pytest.mark.slow
def test_walkthrough_notebook_runs_offline(monkeypatch):
    """Every code cell of notebooks/walkthrough.ipynb, in order, in one namespace (as a kernel
    would); IPython's image display is replaced by a list of the files shown."""
    import json

    from xnet.config.compose import CONFIG_DIR

    notebook = CONFIG_DIR.parent / "notebooks" / "walkthrough.ipynb"
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    shown = []
    namespace = {"Image": lambda filename, width=None: filename, "display": shown.append}
    monkeypatch.chdir(notebook.parent)
    for cell in cells:
        source = "".join(
            line for line in cell["source"] if not line.startswith("from IPython.display import")
        )
        exec(compile(source, notebook.name, "exec"), namespace)
    run = namespace["RUN"]
    assert {"class_shares.png", "confusion_normalized.png", "reliability_holdout.png"} <= {
        p.split("/")[-1] for p in shown
    }
    predicted, metrics = namespace["predicted"], json.loads((run / "metrics.json").read_text())
    # the final table compares only rows the run never trained on: its test part and the 20 sources
    # of the classes left out (too few), as the notebook says
    assert len(predicted) == 1008 and int(namespace["unseen"].sum()) == metrics["n_test"] + 20
    assert predicted["in_training"].sum() == metrics["n_train"] + metrics["n_val"]


def test_figures_say_their_counts_and_energy_bands():
    from xnet.plotting.draw import confusion_matrix_figure, hardness_figure, plt, sky_figure
    from xnet.plotting.reliability import reliability_figure

    fig = confusion_matrix_figure(np.array([[24, 2], [1, 3]]), ["AGN", "HMXB"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["AGN (N=26)", "HMXB (N=4)"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    probs = np.column_stack([rng.uniform(0.5, 1, 50), np.zeros(50)])
    probs[:, 1] = 1 - probs[:, 0]
    fig = reliability_figure(y, probs, probs, 1.0, n_bins=5)
    counts = [int(t.get_text()) for t in fig.axes[1].texts]
    assert sum(counts) == 2 * 50  # every source counted once per curve
    fig = hardness_figure(
        rng.uniform(-1, 1, 20), rng.uniform(-1, 1, 20), ["AGN"] * 20, ["AGN"], "hr_ms", "hr_hm"
    )
    assert (
        "1.2-2.0 vs 0.5-1.2 keV" in fig._supxlabel.get_text()
        and "2.0-7.0 vs 1.2-2.0 keV" in fig._supylabel.get_text()
    )
    fig = sky_figure(np.array([10.0, 200.0]), np.array([1.0, -2.0]), ["AGN", "AGN"], ["AGN"])
    labels = [t for t in fig.axes[0].texts if t.get_text().endswith("°")]
    assert len(labels) == 11 and all(
        abs(t.get_position()[1] - np.radians(-40)) < 1e-9 for t in labels
    )
    plt.close("all")


def test_sweep_legend_and_summary_show_only_the_overrides_that_vary(tmp_path):
    from xnet.runs.sweep import collect_sweep

    for num, (hidden, depth) in enumerate([(10, 1), (30, 1), (10, 2), (30, 2)]):
        fake_job(
            tmp_path,
            num,
            hidden,
            0.9,
            0.85,
            0.8 + num / 100,
            extra=["data=csc_muwclass", f"model.depth={depth}", "cv.folds=3"],
        )
        payload = json.loads((tmp_path / str(num) / "metrics.json").read_text())
        payload["mean"].update(balanced_accuracy=0.7 + num / 100, macro_f1=0.6)
        (tmp_path / str(num) / "metrics.json").write_text(json.dumps(payload))
    assert {j["rest"] for j in collect_widths(tmp_path)} == {"model.depth=1", "model.depth=2"}
    rows = collect_sweep(tmp_path)
    assert [r["overrides"] for r in rows] == [
        "model.hidden=30 model.depth=2",
        "model.hidden=10 model.depth=2",
        "model.hidden=30 model.depth=1",
        "model.hidden=10 model.depth=1",
    ]
    assert_png(write_width_figure(tmp_path))


def test_renderer_writes_the_png_of_each_figure_at_finish_in_order(tmp_path):
    """The file and the callback get the bytes `png_bytes` gives, in submission order, and only
    when the renderer finishes."""
    from xnet.plotting.draw import confusion_matrix_figure
    from xnet.plotting.png import png_bytes
    from xnet.plotting.renderer import Renderer

    cm = np.array([[5, 1], [2, 7]])
    expected = png_bytes(confusion_matrix_figure(cm, ["AGN", "YSO"], title="t"))
    renderer, got = Renderer(), []
    renderer.submit(
        confusion_matrix_figure(cm, ["AGN", "YSO"], title="t"), tmp_path / "cm.png", got.append
    )
    renderer.call(functools.partial(got.append, "done"))
    assert not (tmp_path / "cm.png").exists() and got == []  # written when the renderer finishes
    renderer.finish()
    assert got == [expected, "done"] and (tmp_path / "cm.png").read_bytes() == expected


def test_a_failed_runs_unfinished_figures_do_not_reach_the_next_run(tmp_path):
    """`train_many` discards what a run left in the renderer when it fails: no file, no callback
    (a TensorBoard writer of the failed run) at the next run's finish."""
    from xnet.plotting.draw import confusion_matrix_figure
    from xnet.plotting.renderer import Renderer

    renderer, got = Renderer(), []
    renderer.submit(
        confusion_matrix_figure(np.eye(2), ["AGN", "YSO"]),
        tmp_path / "stale.png",
        got.append,
        tight=False,
    )
    renderer.discard()
    renderer.finish()
    assert got == [] and not (tmp_path / "stale.png").exists() and renderer.pending == []
