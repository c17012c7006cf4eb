"""What evaluation hands on, typed: a trained network's `MemberResult` (`evaluate_trained`) and an
outer split's `SplitResult` (`evaluate_split`), which `xnet.training.report` turns into the run's
metrics.json (`xnet.evaluation.results`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xnet.evaluation.calibration import Temperature
from xnet.evaluation.results import SplitBlock

if TYPE_CHECKING:
    from xnet.models.classifier import Classifier
    from xnet.models.trees import TreeMember
    from xnet.training.stacking import Member


@dataclass
class MemberResult:
    """One network of a split, evaluated: its best weights as a Classifier, its calibrated
    probabilities and labels per part (`train`, `val`, `test`; `test_uncalibrated` at T = 1),
    their classification reports, its temperature and training length."""

    member: Member
    model: Classifier
    proba: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    reports: dict[str, dict]
    temperature: Temperature
    epochs: int
    best_epoch: int
    checkpoint: str  # relative to the run directory
    branch: dict | None  # the light-curve branch ablation (`xnet.training.lightcurves`)


@dataclass
class SplitResult:
    """One outer split, evaluated: its metrics.json block and the test predictions behind it
    (labels, decisions and confidence of the split's test rows, in `test_rows` order)."""

    block: SplitBlock
    y_true: np.ndarray
    y_pred: np.ndarray
    reliability: dict | None  # the reliability diagram's PNG bytes ("png") once rendered
    confidence: np.ndarray
    oob: dict | None  # the out-of-bag report (ensembles; `xnet.evaluation.inner_validation`)
    trees: TreeMember | None
    test_rows: np.ndarray
