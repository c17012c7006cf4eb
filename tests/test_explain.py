"""Explanations (`xnet.evaluation.attribution`): contributions add up to the log-probability change
they explain, each part against an independent reference, and a feature that alone decides the
class comes first for every source, through training (importance) and `xnet.predict explain=K`."""

from __future__ import annotations

import itertools
import json
from math import factorial

import numpy as np
import pandas as pd
import pytest
from conftest import raw_lin

from xnet.data.preprocessing import fit_scaler, scaler_state
from xnet.evaluation.attribution import Explainer, Network, baseline_row, grouped
from xnet.models.artifacts.export import NumpyModel, NumpyScaler
from xnet.models.artifacts.trees import export
from xnet.models.decision import decide
from xnet.models.trees import make_model


def random_networks(rng, n_in: int, n_classes: int, temperatures) -> list[NumpyModel]:
    def layer(i, o):
        return rng.normal(0, 1.2 / np.sqrt(i), (i, o)).astype(np.float32), rng.normal(
            0, 0.3, o
        ).astype(np.float32)

    return [
        NumpyModel(
            [layer(n_in, 12), layer(12, 12), layer(12, n_classes)],
            t,
            [f"class{k}" for k in range(n_classes)],
            None,
            0.0,
        )
        for t in temperatures
    ]


def constructed(n_classes: int, seed: int = 0):
    """Raw rows (5 features, the 4th often missing, and its indicator), a fitted scaler, three
    random ReLU networks with their own temperatures and a tree member fitted on the rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5))
    x[:, 4] = np.exp(x[:, 4])  # a skewed one, as fluxes are
    x[rng.random(400) < 0.6, 3] = np.nan  # mostly missing: missing at the baseline too
    x = np.column_stack([x, np.isnan(x[:, 3]).astype(float)])
    y = (np.nan_to_num(x[:, 0]) + 0.5 * x[:, 1] > 0).astype(int)
    if n_classes > 2:
        y = y + 2 * (x[:, 2] > 0.5)
    scaler = NumpyScaler.from_state(scaler_state(fit_scaler(x)))
    networks = random_networks(rng, x.shape[1], n_classes, (0.7, 1.0, 1.6))
    return x, scaler, networks, small_trees(x, y, n_classes)


def small_trees(x, y, n_classes: int):
    """A tree member as xnet fits it, with 20 iterations (one thread: quick on a busy machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return export(make_model(0).set_params(max_iter=20).fit(x, y), n_classes)


def blend_log_p(x, scaler, networks, trees, weight) -> np.ndarray:
    """ln p of every class as `xnet.predict` computes p: the networks' mean, blended with trees."""
    p = np.mean([m.predict_proba(scaler.transform(x)) for m in networks], axis=0)
    return np.log((1 - weight) * p + weight * trees.predict_proba(x))


@pytest.mark.parametrize("n_classes", [2, 4])  # two classes: a tree member with one logit
def test_contributions_add_up_to_the_log_probability_change(n_classes):
    x, scaler, networks, trees = constructed(n_classes)
    weight, prior = 0.4, np.linspace(1, 2, n_classes) / np.linspace(1, 2, n_classes).sum()
    base = baseline_row([scaler.statistics], 5, [3])
    assert np.isnan(base[3]) and base[5] == 1  # the mostly-missing feature is missing there
    explainer = Explainer(
        [Network(m.layers, m.temperature, scaler.transform) for m in networks],
        base,
        n_classes,
        [trees],
        weight,
    )
    log_p = blend_log_p(x, scaler, networks, trees, weight)
    target = decide(np.exp(log_p), prior, 0.5)  # the prior-adjusted decision chooses the class
    found = explainer.explain(x, target)
    rows = np.arange(len(x))
    change = (
        log_p[rows, target] - blend_log_p(base[None], scaler, networks, trees, weight)[0, target]
    )
    assert np.abs(found.delta - change).max() < 1e-5
    assert np.abs(found.contributions.sum(axis=1) - change).max() < 1e-4
    assert np.abs(change).max() > 0.5  # the test has something to add up
    per_feature = grouped(found.contributions, 5, [3])
    assert per_feature.shape == (len(x), 5)
    assert np.allclose(per_feature.sum(axis=1), found.contributions.sum(axis=1))


def test_network_part_is_captums_deeplift_on_the_plain_network():
    """The stacked, grouped module gives each row what Captum's DeepLift gives on the network
    itself (a torch MLP with the same weights), for a logit as the target."""
    import torch
    from captum.attr import DeepLift

    from xnet.evaluation.deeplift import GROUP, NetworkContributions

    rng = np.random.default_rng(1)
    (model,) = random_networks(rng, 6, 3, (1.0,))
    x = rng.random((GROUP + 77, 6)).astype(np.float32)  # more than one group, the last one padded
    base = rng.random(6).astype(np.float32)
    target = rng.integers(0, 3, len(x))
    read_out = np.eye(3)[target][:, None, :]  # (rows, networks, classes): the target logit
    mine = NetworkContributions([model.layers]).contributions(x[:, None, :], base[None], read_out)
    net = torch.nn.Sequential(
        *[
            module
            for k, (w, b) in enumerate(model.layers)
            for module in (
                _linear(w, b),
                *((torch.nn.ReLU(),) if k < len(model.layers) - 1 else ()),
            )
        ]
    )
    reference = DeepLift(net).attribute(
        torch.from_numpy(x).requires_grad_(),
        baselines=torch.from_numpy(np.tile(base, (len(x), 1))),
        target=torch.from_numpy(target),
    )
    assert np.abs(mine - reference.detach().numpy()).max() < 1e-5


def _linear(w, b):
    import torch

    layer = torch.nn.Linear(*w.shape)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w.T))
        layer.bias.copy_(torch.from_numpy(b))
    return layer


def test_tree_part_is_the_exact_baseline_shapley_value():
    """TreeSHAP with the baseline as the only background row equals the Shapley value computed
    over every coalition of the features, also for values lying exactly on a split threshold
    (where SHAP's single-precision comparison alone would take the wrong branch)."""
    from xnet.evaluation.treeshap import TreeContributions

    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=(300, 4)), 1) + 0.01  # few distinct values
    x[rng.random(300) < 0.1, 2] = np.nan
    y = (x[:, 0] + x[:, 1] * np.nan_to_num(x[:, 2]) > 0).astype(int) + (x[:, 3] > 0.8)
    trees = small_trees(x, y, 3)
    on_threshold = trees.threshold[~trees.leaf & (trees.feature == 0)][:5]
    rows = x[:40].copy()
    rows[: len(on_threshold), 0] = on_threshold  # ties with float64 thresholds
    base = x[100]
    phi = TreeContributions(trees, base).contributions(rows)
    n = x.shape[1]
    exact = np.zeros_like(phi)
    for size in range(n):
        for coalition in itertools.combinations(range(n), size):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            hybrid = np.tile(base, (len(rows), 1))
            hybrid[:, list(coalition)] = rows[:, list(coalition)]
            before = trees.raw(hybrid)
            for j in set(range(n)) - set(coalition):
                with_j = hybrid.copy()
                with_j[:, j] = rows[:, j]
                exact[:, j] += weight * (trees.raw(with_j) - before)
    assert np.abs(phi - exact).max() < 1e-6
    assert np.abs(phi.sum(axis=1) - (trees.raw(rows) - trees.raw(base[None]))).max() < 1e-6


@pytest.fixture(scope="module")
def one_feature_run(tmp_path_factory):
    """Two classes that hr1 alone decides (a gap between them, so the median source lies in
    it), every other feature as the bundled XMM slice has it, shuffled: nothing but hr1 carries
    the class. Trained with two networks and a prior-adjusted decision (the tree member's part is
    checked above: its fits cost minutes on a busy 2-core machine)."""
    from xnet.api import train

    rng = np.random.default_rng(0)
    frame = raw_lin().iloc[:600].copy()
    frame = frame[frame["name"].str.len() > 0].reset_index(drop=True)
    for column in ("F8", "sc_ep_8_fmin", "sc_ep_8_fmax", "HR2", "HR3", "HR4", "sc_chi2prob"):
        frame[column] = frame[column].sample(frac=1, random_state=1).to_numpy()
    soft = np.arange(len(frame)) % 2 == 0
    frame["Class"] = np.where(soft, "SOFT", "HARD")
    hr1 = np.where(soft, rng.uniform(-0.9, -0.5, len(frame)), rng.uniform(0.5, 0.9, len(frame)))
    frame["HR1"] = [f"{v:.4f}" for v in hr1]
    tmp = tmp_path_factory.mktemp("one_feature")
    path = tmp / "one_feature.csv"
    frame.to_csv(path, index=False)
    overrides = [
        f"data.path={path}",
        "trainer.max_epochs=40",
        "logger=none",
        "figures.enabled=false",
        "ensemble.members=2",
        "decision.prior_power=0.5",
    ]
    metrics = train(overrides, run_dir=tmp / "run")
    return tmp / "run", path, metrics


def test_the_deciding_feature_leads_every_class_in_training(one_feature_run):
    run, _, metrics = one_feature_run
    saved = json.loads((run / "metrics.json").read_text())["importance"]
    assert saved == metrics["importance"]
    for cls, values in metrics["importance"]["mean"].items():
        assert max(values, key=values.get) == "hr1", (cls, values)
    assert metrics["balanced_accuracy"] > 0.95
    # the baseline, the median source, sits in the gap between the classes
    assert metrics["importance"]["baseline"]["hr1"] == pytest.approx(0, abs=0.5)
    assert all(0.1 < p < 0.9 for p in metrics["importance"]["baseline_probability"].values())


def test_importance_figure_goes_to_the_run_and_tensorboard(one_feature_run, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    from xnet.plotting.renderer import Renderer
    from xnet.training.importance import write_figure

    _, _, metrics = one_feature_run
    writer, renderer = SummaryWriter(str(tmp_path / "tb")), Renderer()
    assert write_figure(metrics["importance"], tmp_path, renderer, writer) == "importance.png"
    renderer.finish()
    writer.close()
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    image = events.Images("figures/importance")[0]
    assert image.encoded_image_string == (tmp_path / "importance.png").read_bytes()


def test_the_deciding_feature_comes_first_for_every_source(one_feature_run, tmp_path):
    from xnet.api import predict

    run, path, _ = one_feature_run
    table = predict(run, path, tmp_path / "out.parquet", ["explain=2"])
    assert len(table) > 500
    assert (table["expl1_feature"].astype(str) == "hr1").all()
    assert (table["expl2_feature"].astype(str) != "hr1").all()
    assert (table["expl1_contrib"] > 0).all()
    assert np.allclose(table["expl1_value"], pd.read_csv(path)["HR1"])  # as the model reads it


@pytest.mark.parametrize("fmt", ["fits", "vot", "csv"])
def test_explanation_columns_in_every_format(one_feature_run, tmp_path, fmt):
    """The columns TOPCAT users read: names, values and contributions, described in FITS (TCOMMn)
    and VOTable (DESCRIPTION); CSV holds the same values."""
    from astropy.io import fits
    from astropy.io.votable import parse_single_table
    from astropy.table import Table

    from xnet.config.compose import compose_config
    from xnet.predict.job import predict

    run, path, _ = one_feature_run
    out = tmp_path / f"out.{fmt}"
    overrides = [f"run={run}", f"input={path}", f"output={out}", "progress=false", "explain=1"]
    predict(compose_config(overrides, config_name="predict"))
    if fmt == "csv":
        table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    else:
        table = Table.read(out, format="votable" if fmt == "vot" else "fits").to_pandas()
    names = [v.decode() if isinstance(v, bytes) else str(v) for v in table["expl1_feature"]]
    assert set(names) == {"hr1"}
    assert np.allclose(table["expl1_value"], pd.read_csv(path)["HR1"])
    if fmt == "csv":
        return
    if fmt == "fits":
        header = fits.getheader(out, 1)
        described = {
            header[f"TTYPE{i}"]: header.get(f"TCOMM{i}") for i in range(1, 1 + header["TFIELDS"])
        }
    else:
        described = {f.name: f.description for f in parse_single_table(str(out)).fields}
    for column in ("expl1_feature", "expl1_value", "expl1_contrib", "expl_total"):
        assert described[column], column
    assert "ln P(pred_class)" in described["expl1_contrib"]


@pytest.mark.cli
def test_explain_from_the_command_line(one_feature_run, tmp_path):
    from astropy.table import Table
    from conftest import run_cli

    run, path, _ = one_feature_run
    out = tmp_path / "x.fits"
    done = run_cli("xnet.predict", f"run={run}", f"input={path}", f"output={out}", "explain=3")
    assert done.returncode == 0, done.stderr[-2000:]
    table = Table.read(out)
    assert {
        f"expl{k}_{part}" for k in (1, 2, 3) for part in ("feature", "value", "contrib")
    } <= set(table.colnames)
    bad = run_cli(
        "xnet.predict", f"run={run}", f"input={path}", f"output={tmp_path / 'y.fits'}", "explain=-1"
    )
    assert bad.returncode == 2 and "explain=-1" in bad.stderr and not (tmp_path / "y.fits").exists()
