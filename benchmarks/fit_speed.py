"""Wall time of one xnet fit against scikit-learn's MLPClassifier with the study's settings.

Same rows, same preprocessing, same number of epochs (early stopping off for both), batch 200.
Run on demand (not a test):

    python benchmarks/fit_speed.py [--epochs 200] [--repeats 3]

Prints the median of each and the ratio xnet / scikit-learn, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
import tempfile

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from xnet.config import CONFIG_DIR
from xnet.dataset import make_splits, prepare_labelled_set
from xnet.preprocessing import fit_scaler, transform
from xnet.train import fit_split, quiet_lightning

CASES = [("xmm_lin2024", "xray"), ("csc_muwclass", "xray_mw")]


def study_mlp(epochs: int, seed: int = 1) -> MLPClassifier:
    """The founding study's MLPClassifier, with early stopping off and exactly `epochs` epochs."""
    return MLPClassifier(
        hidden_layer_sizes=(30, 30),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=0.01,
        beta_1=0.15,
        beta_2=0.990,
        epsilon=1e-10,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        tol=0.0,
        early_stopping=False,
        shuffle=True,
        random_state=seed,
    )


def config(data: str, features: str, epochs: int):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        return compose(
            config_name="train",
            overrides=[
                f"data={data}",
                f"features={features}",
                f"trainer.max_epochs={epochs}",
                f"early_stopping.patience={epochs + 1}",
                "logger=none",
            ],
        )


def time_xnet(cfg, data, split, run_dir: Path) -> tuple[float, float]:
    start = time.perf_counter()
    result = fit_split(cfg, data, split, run_dir, n_splits=1)
    return time.perf_counter() - start, result["block"]["balanced_accuracy"]


def time_sklearn(data, split, epochs: int) -> tuple[float, float]:
    from xnet.metrics import classification_report

    start = time.perf_counter()
    scaler = fit_scaler(data.x[split.train])
    model = study_mlp(epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(transform(scaler, data.x[split.train]), data.y[split.train])
    pred = model.predict(transform(scaler, data.x[split.test]))
    elapsed = time.perf_counter() - start
    return elapsed, classification_report(data.y[split.test], pred, data.classes)["balanced_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    quiet_lightning()
    import logging

    logging.getLogger("xnet").setLevel(logging.WARNING)
    torch.set_num_threads(1)
    rows = []
    for data_name, features in CASES:
        cfg = config(data_name, features, args.epochs)
        data = prepare_labelled_set(cfg.data, cfg.features, cfg.split.min_class_count)
        split = next(make_splits(data.y, cfg.split, 0, cfg.seed))
        xnet_t, sk_t, xnet_ba, sk_ba = [], [], 0.0, 0.0
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                t, xnet_ba = time_xnet(cfg, data, split, Path(tmp))
            xnet_t.append(t)
            t, sk_ba = time_sklearn(data, split, args.epochs)
            sk_t.append(t)
        x_med, s_med = statistics.median(xnet_t), statistics.median(sk_t)
        rows.append((f"{data_name}/{features}", len(split.train), x_med, s_med, x_med / s_med, xnet_ba, sk_ba))

    print(f"\none fit, {args.epochs} epochs, batch 200, median of {args.repeats} (wall seconds)")
    header = f"{'data':26} {'n_train':>7} {'xnet s':>8} {'sklearn s':>9} {'ratio':>6} {'xnet BA':>8} {'sk BA':>6}"
    print(header)
    print("-" * len(header))
    for name, n, x, s, r, xba, sba in rows:
        print(f"{name:26} {n:7d} {x:8.2f} {s:9.2f} {r:6.2f} {xba:8.3f} {sba:6.3f}")


if __name__ == "__main__":
    main()
