"""The baselines a user would reach for instead of xnet, with the founding study's settings."""

from __future__ import annotations

from sklearn.neural_network import MLPClassifier

from xnet.models.optim import study_settings


def study_mlp(
    hidden: int | None = None,
    seed: int = 1,
    max_epochs: int = 600,
    early_stopping: bool = True,
    patience: int = 60,
) -> MLPClassifier:
    """scikit-learn's MLPClassifier with the study's hyperparameters, read from conf/model/mlp.yaml
    (the values xnet trains with): `depth` ReLU layers of `hidden` units, Adam with its lr, betas
    and eps, L2 alpha, batch min(batch_size, n); early stopping on a 10 % validation split with
    `patience` (60, conf/train.yaml), at most `max_epochs`, seed 1. `early_stopping=False` runs
    exactly `max_epochs` epochs (for timing)."""
    m = study_settings()
    width = int(hidden if hidden is not None else m["hidden"])
    return MLPClassifier(
        hidden_layer_sizes=(width,) * int(m["depth"]),
        activation="relu",
        solver="adam",
        alpha=float(m["l2_alpha"]),
        batch_size=int(m["batch_size"]),
        learning_rate_init=float(m["lr"]),
        beta_1=float(m["beta1"]),
        beta_2=float(m["beta2"]),
        epsilon=float(m["eps"]),
        early_stopping=early_stopping,
        validation_fraction=0.1,
        n_iter_no_change=patience
        if early_stopping
        else max_epochs + 1,  # never stop early when timing
        tol=1e-4 if early_stopping else 0.0,
        max_iter=max_epochs,
        shuffle=True,
        random_state=seed,
    )
