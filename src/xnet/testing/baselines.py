"""The baselines a user would reach for instead of xnet, with the founding study's settings."""

from __future__ import annotations

from sklearn.neural_network import MLPClassifier


def study_mlp(hidden: int = 30, seed: int = 1, max_epochs: int = 600, early_stopping: bool = True) -> MLPClassifier:
    """scikit-learn's MLPClassifier with the study's exact hyperparameters (MISSION.md): two ReLU
    layers, Adam lr 0.01, betas (0.15, 0.990), eps 1e-10, L2 alpha 1e-4, batch min(200, n),
    early stopping on a 10 % validation split with patience 60, at most 600 epochs, seed 1.
    `early_stopping=False` runs exactly `max_epochs` epochs (for timing)."""
    return MLPClassifier(
        hidden_layer_sizes=(hidden, hidden),
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=0.01,
        beta_1=0.15,
        beta_2=0.990,
        epsilon=1e-10,
        early_stopping=early_stopping,
        validation_fraction=0.1,
        n_iter_no_change=60 if early_stopping else max_epochs + 1,  # never stop early when timing
        tol=1e-4 if early_stopping else 0.0,
        max_iter=max_epochs,
        shuffle=True,
        random_state=seed,
    )
