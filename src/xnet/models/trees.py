"""An optional gradient-boosted tree member of an ensemble (`ensemble.trees`: its blend weight).

scikit-learn's HistGradientBoostingClassifier, fitted on the raw (unscaled, NaN-bearing) features
of the outer training part only; its test probabilities are blended with the networks' mean,
p = (1 - w) p_networks + w p_trees, before the run's decision rule. For the inner (out-of-bag)
score, each training row's tree probability comes from a model that did not see it (K-fold
cross-fitting on the training part), so a blend is judged on inner validation like any network.

A fitted model is exported as plain NumPy arrays (`xnet.models.artifacts.trees`), so it can be
saved beside the networks' exports and evaluated without scikit-learn or pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xnet.models.artifacts.trees import TreeArrays, export

#: the tree settings (fixed; chosen as LightGBM-like defaults, not tuned on test folds)
SETTINGS = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 15, "l2_regularization": 1.0}
INNER_FOLDS = 3  # cross-fitting folds for the out-of-bag tree probabilities


def make_model(seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**SETTINGS, early_stopping=False, random_state=int(seed))


def full_proba(model, x: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with a column for every class (a class absent from a training part gets 0)."""
    out = np.zeros((len(x), n_classes))
    out[:, model.classes_] = model.predict_proba(x)
    return out


@dataclass
class TreeMember:
    """One outer split's tree member: its blend weight, test and out-of-bag probabilities and
    its arrays."""

    weight: float
    test: np.ndarray
    oob: dict[int, np.ndarray]  # training row -> probability from a model that did not train on it
    arrays: TreeArrays

    def blend(self, proba: np.ndarray, tree_proba: np.ndarray) -> np.ndarray:
        return (1.0 - self.weight) * proba + self.weight * tree_proba

    def blend_oob(self, rows, proba: np.ndarray) -> np.ndarray:
        return self.blend(proba, np.stack([self.oob[int(r)] for r in rows]))


def fit_member(
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    n_classes: int,
    weight: float,
    seed: int,
) -> TreeMember:
    """The tree member of one outer split: fitted on `train` rows only (test rows never seen)."""
    from sklearn.model_selection import StratifiedKFold

    train = np.asarray(train)
    model = make_model(seed).fit(x[train], y[train])
    oob: dict[int, np.ndarray] = {}
    folds = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=int(seed))
    for fit_rows, held in folds.split(x[train], y[train]):
        inner = make_model(seed).fit(x[train[fit_rows]], y[train[fit_rows]])
        for row, p in zip(train[held], full_proba(inner, x[train[held]], n_classes)):
            oob[int(row)] = p
    return TreeMember(
        weight=float(weight),
        test=full_proba(model, x[np.asarray(test)], n_classes),
        oob=oob,
        arrays=export(model, n_classes),
    )
