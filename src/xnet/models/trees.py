"""An optional gradient-boosted tree member of an ensemble (`ensemble.trees`: its blend weight).

scikit-learn's HistGradientBoostingClassifier, fitted on the raw (unscaled, NaN-bearing) features
of the outer training part only; its test probabilities are blended with the networks' mean,
p = (1 - w) p_networks + w p_trees, before the run's decision rule. For the inner (out-of-bag)
score, each training row's tree probability comes from a model that did not see it (K-fold
cross-fitting on the training part), so a blend is judged on inner validation like any network.

A fitted model is exported as plain NumPy arrays (`export`, `TreeArrays.predict_proba`): every
tree's split feature, threshold, missing-value direction, children and leaf values, so it can be
saved beside the networks' exports and evaluated without scikit-learn or pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    """One outer split's tree member: its blend weight, test and out-of-bag probabilities, export."""

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


@dataclass
class TreeArrays:
    """A fitted HistGradientBoostingClassifier as flat arrays (all trees' nodes concatenated)."""

    baseline: np.ndarray  # (n_outputs,) raw score before the trees
    tree_class: np.ndarray  # per tree: the output (class) it adds to
    root: np.ndarray  # per tree: index of its root in the node arrays
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray  # absolute node indices
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    classes: np.ndarray  # the class codes the model's outputs stand for
    n_classes: int

    def raw(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        node = np.broadcast_to(self.root, (len(x), len(self.root))).copy()  # (rows, trees)
        rows = np.arange(len(x))[:, None]
        while not self.leaf[node].all():
            v = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            node = np.where(
                self.leaf[node], node, np.where(go_left, self.left[node], self.right[node])
            )
        scores = np.tile(self.baseline, (len(x), 1))
        np.add.at(scores.T, self.tree_class, self.value[node].T)
        return scores

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        raw = self.raw(x)
        if raw.shape[1] == 1:  # two classes: one logit
            raw = np.hstack([np.zeros_like(raw), raw])
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        out = np.zeros((len(x), self.n_classes))
        out[:, self.classes] = e / e.sum(axis=1, keepdims=True)
        return out

    def save(self, path: Path) -> None:
        from xnet.files import atomic_write

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **{k: np.asarray(v) for k, v in self.__dict__.items()})

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> TreeArrays:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{k: (int(f[k]) if k == "n_classes" else f[k]) for k in f.files})


def export(model, n_classes: int) -> TreeArrays:
    parts, tree_class, roots, offset = [], [], [], 0
    for iteration in model._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not exported")
            parts.append((nodes, offset))
            tree_class.append(k)
            roots.append(offset)
            offset += len(nodes)
    nodes = np.concatenate([n for n, _ in parts])
    shift = np.concatenate([np.full(len(n), o) for n, o in parts])
    return TreeArrays(
        baseline=np.asarray(model._baseline_prediction, dtype=float).ravel(),
        tree_class=np.asarray(tree_class),
        root=np.asarray(roots),
        feature=nodes["feature_idx"].astype(np.int64),
        threshold=nodes["num_threshold"].astype(float),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        left=nodes["left"].astype(np.int64) + shift,
        right=nodes["right"].astype(np.int64) + shift,
        leaf=nodes["is_leaf"].astype(bool),
        value=nodes["value"].astype(float),
        classes=np.asarray(model.classes_),
        n_classes=int(n_classes),
    )
