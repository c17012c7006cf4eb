"""The tree member's part of an explanation: SHAP's TreeExplainer on xnet's exported trees.

A tree member travels as flat NumPy arrays (`xnet.models.trees.TreeArrays`: every tree's split
feature, threshold, missing-value direction, children and values). SHAP takes exactly this as its
documented custom-tree format (one dict per tree), so the exported member is explained without
scikit-learn or pickle. With the baseline as the only background row, interventional TreeSHAP
gives the baseline Shapley values of the member's raw scores: exact, and adding up to
raw(x) - raw(baseline) for every output.

SHAP's interventional algorithm compares in single precision (its thresholds are C floats: shap
issue 5116), which sends a value lying between a double threshold and its float rounding down
the wrong branch, and breaks the sum. Each feature is therefore given to it as its rank among the
member's thresholds for that feature (`Ranks`: how many thresholds lie below the value) and each
threshold as its rank + 0.5: small integers, exact in single precision, every branch as in the
member (a value goes left exactly when it is <= the threshold), so the values are those of the
member itself.
"""

from __future__ import annotations

import numpy as np
import shap


class Ranks:
    """Per feature, the sorted distinct thresholds the member splits it at."""

    def __init__(self, arrays):
        split = ~arrays.leaf
        self.cuts = {
            int(j): np.unique(arrays.threshold[split & (arrays.feature == j)])
            for j in np.unique(arrays.feature[split])
        }

    def thresholds(self, arrays) -> np.ndarray:
        """Every node's threshold as its rank among its feature's + 0.5 (0 at leaves)."""
        out = np.zeros(len(arrays.threshold))
        for j, cuts in self.cuts.items():
            nodes = ~arrays.leaf & (arrays.feature == j)
            out[nodes] = np.searchsorted(cuts, arrays.threshold[nodes]) + 0.5
        return out

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Each used feature as the number of its thresholds below the value (NaN stays NaN)."""
        out = np.zeros(raw.shape)
        for j, cuts in self.cuts.items():
            out[:, j] = np.searchsorted(cuts, raw[:, j], side="left")
        return np.where(np.isnan(raw), np.nan, out)


def tree_dicts(arrays, ranks: Ranks) -> dict[int, list[dict]]:
    """Per output of a `TreeArrays`, the trees that add to it as SHAP's custom-tree dicts on
    rank-encoded features (node indices local to the tree, -1 for a leaf's children)."""
    thresholds = ranks.thresholds(arrays)
    bounds = [*arrays.root.tolist(), len(arrays.feature)]
    out: dict[int, list[dict]] = {}
    for t, (start, stop) in enumerate(zip(bounds, bounds[1:])):
        leaf = arrays.leaf[start:stop]
        left = np.where(leaf, -1, arrays.left[start:stop] - start).astype(np.int32)
        right = np.where(leaf, -1, arrays.right[start:stop] - start).astype(np.int32)
        out.setdefault(int(arrays.tree_class[t]), []).append(
            {
                "children_left": left,
                "children_right": right,
                "children_default": np.where(arrays.missing_left[start:stop], left, right),
                "features": np.where(leaf, -1, arrays.feature[start:stop]).astype(np.int32),
                "thresholds": thresholds[start:stop],
                "values": np.where(leaf, arrays.value[start:stop], 0.0)[:, None],
                "node_sample_weight": np.ones(stop - start),
            }
        )
    return out


class TreeContributions:
    """One tree member's exact contributions to its raw scores against a baseline row: one SHAP
    explainer per output, on the trees that add to it (SHAP's algorithm would otherwise walk
    every tree for every output)."""

    def __init__(self, arrays, baseline: np.ndarray):
        self.arrays = arrays
        self.ranks = Ranks(arrays)
        background = self.ranks.encode(np.asarray(baseline, float)[None, :])
        self.explainers = [
            shap.TreeExplainer(
                {"trees": trees, "tree_output": "raw_value", "internal_dtype": np.float64},
                data=background,
                feature_perturbation="interventional",
                model_output="raw",
            )
            for _, trees in sorted(tree_dicts(arrays, self.ranks).items())
        ]
        self.baseline_scores = arrays.raw(np.asarray(baseline, float)[None, :])[0]

    def contributions(self, raw: np.ndarray) -> np.ndarray:
        """(rows, features, outputs) contributions to the raw scores of rows of raw features."""
        encoded = self.ranks.encode(np.asarray(raw, float))
        return np.stack(
            [e.shap_values(encoded, check_additivity=False) for e in self.explainers], axis=2
        )
