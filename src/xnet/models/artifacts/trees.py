"""A tree member's artifact: a fitted HistGradientBoostingClassifier as flat NumPy arrays.

`export` reads every tree's split feature, threshold, missing-value direction, children and leaf
values; `TreeArrays.save` writes them as `checkpoints/<split>-trees.npz` (`layout.trees_name`) and
`TreeArrays.load` reads them back with `allow_pickle=False`, so prediction evaluates the trees
without scikit-learn or pickle (`TreeArrays.predict_proba`).

scikit-learn has no public API for a HistGradientBoostingClassifier's trees: `export` reads its
`_predictors` (each a `TreePredictor` whose `nodes` record array is the tree) and its
`_baseline_prediction`. Its public alternatives do not do the job: `decision_function` and
`staged_decision_function` give only sums over trees, and the estimators with documented trees
(`GradientBoostingClassifier.estimators_[i].tree_`) fit another model. The test of the tree
member (`tests/test_trees.py`) checks that the export predicts what scikit-learn does, so a change
of these internals fails there, not in a user's prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xnet.files import atomic_write


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
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **{k: np.asarray(v) for k, v in self.__dict__.items()})

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> TreeArrays:
        with np.load(path, allow_pickle=False) as f:
            return cls(**{k: (int(f[k]) if k == "n_classes" else f[k]) for k in f.files})


def export(model, n_classes: int) -> TreeArrays:
    """The arrays of a fitted HistGradientBoostingClassifier (scikit-learn internals: see above)."""
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
