"""What a run's metrics.json holds, typed: one `SplitBlock` per outer split and the run's
`RunReport`. Each becomes the JSON object (same keys, same order) only where it is written or
returned to a user (`to_json`). The blocks inside them (classification reports, calibration,
coverage, importance, light curves) stay the JSON objects their modules compute."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _with_optional(out: dict, **optional) -> dict:
    """`out` with each optional value that is not None set (a key already in `out` keeps its
    place, as metrics.json has always written it)."""
    for key, value in optional.items():
        if value is not None:
            out[key] = value
    return out


@dataclass
class SplitBlock:
    """One outer split (a CV fold, or the holdout): sizes, training length, the train and
    validation headline metrics, calibration and the test classification report."""

    fold: int
    n_train: int
    n_train_resampled: int
    n_val: int
    n_test: int
    epochs: int | list[int]  # one network: its number; an ensemble: one per network
    best_epoch: int | list[int]
    checkpoint: str
    checkpoints: list[str]
    train: dict  # headline metrics (mean over networks), n_train and per-class support
    val: dict
    calibration: dict  # `xnet.evaluation.calibration.calibration_summary` (+ its figure's name)
    test: dict  # `xnet.evaluation.metrics.classification_report` of the test part
    lightcurves: dict | None = None  # test rows with and without a light curve
    trees: dict | None = None  # the tree member's weight and checkpoint
    importance: dict | None = None  # this fold's feature importance (CV runs)

    def to_json(self) -> dict:
        out = {
            "fold": self.fold,
            "n_train": self.n_train,
            "n_train_resampled": self.n_train_resampled,
            "n_val": self.n_val,
            "n_test": self.n_test,
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "checkpoint": self.checkpoint,
            "checkpoints": self.checkpoints,
            "train": self.train,
            "val": self.val,
            "calibration": self.calibration,
            **self.test,
        }
        return _with_optional(
            out, lightcurves=self.lightcurves, trees=self.trees, importance=self.importance
        )


@dataclass
class RunHeader:
    """What a run was trained on, and its warnings (data, small samples, calibration)."""

    dataset: str
    catalog_path: str
    features: str
    feature_names: list[str]
    resample: str
    classes: list[str]
    class_counts: dict[str, int]
    duplicates: dict | None
    warnings: list[str]

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "catalog_path": self.catalog_path,
            "features": self.features,
            "feature_names": self.feature_names,
            "resample": self.resample,
            "classes": self.classes,
            "class_counts": self.class_counts,
            "duplicates": self.duplicates,
            "warnings": self.warnings,
        }


@dataclass
class RunReport:
    """A run's results: its splits, and under CV the pooled out-of-fold report with the mean and
    standard deviation over folds; the run-level blocks; `to_json` is metrics.json."""

    header: RunHeader
    splits: list[SplitBlock]
    pooled: dict | None = None  # CV: the pooled out-of-fold classification report
    mean: dict | None = None  # CV: headline metrics, recall, calibration, ... over folds
    std: dict | None = None
    importance: dict | None = None
    lightcurves: dict | None = None
    coverage: dict | None = None
    inner_validation: dict | None = None
    figures: dict[str, str] | None = field(default=None)

    @property
    def cv(self) -> bool:
        return len(self.splits) > 1

    @property
    def test(self) -> dict:
        """The run's test classification report: pooled out-of-fold under CV, else the split's."""
        return self.pooled if self.cv else self.splits[0].test

    def to_json(self) -> dict:
        if not self.cv:
            out = {**self.header.to_json(), **self.splits[0].to_json()}
        else:
            out = {
                **self.header.to_json(),
                "cv_folds": len(self.splits),
                "n_train": int(round(np.mean([b.n_train for b in self.splits]))),
                "n_test": int(sum(b.n_test for b in self.splits)),
                "pooled_out_of_fold": True,
                **self.pooled,
                "mean": self.mean,
                "std": self.std,
                "folds": [b.to_json() for b in self.splits],
            }
        return _with_optional(
            out,
            importance=self.importance,
            lightcurves=self.lightcurves,
            coverage=self.coverage,
            inner_validation=self.inner_validation,
            figures=self.figures,
        )
