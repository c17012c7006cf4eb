"""A finished training run, loaded for prediction: its checkpoints (safely), scalers and data
config.

A run directory's metrics.json names its checkpoints: one for a hold-out run, one per fold for a
CV run (whose models `xnet.predict` averages). Each is loaded by `xnet.models.artifacts.load`: from
its NumPy export (no torch, no scikit-learn import) where it has a current one, else from the .ckpt
with `weights_only=True`: tensors and plain values only, so a checkpoint file cannot run code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from xnet.config.compose import plain_config
from xnet.config.rules import CONFIDENCE_KINDS
from xnet.data.features import FeatureSpec
from xnet.errors import XnetError
from xnet.files import check_readable, path_inside, read_bounded
from xnet.models.artifacts.layout import run_of
from xnet.models.artifacts.load import CheckpointModel, load_model

log = logging.getLogger(__name__)


@dataclass
class TrainedRun:
    """The models of a run (one, or one per CV fold) and what they expect as input."""

    source: Path
    members: list[CheckpointModel]
    data_cfg: dict | None  # the run's data config (.hydra/config.yaml), where found
    confidence: str = "probability"  # the run's coverage.confidence (older runs: the probability)
    trees: list = field(default_factory=list)  # per split, its tree member (TreeArrays)
    tree_weight: float = 0.0  # w: p = (1 - w) mean(networks) + w mean(trees), as in training

    @property
    def state(self) -> dict:
        return self.members[0].state

    @property
    def classes(self) -> list[str]:
        return list(self.state["classes"])

    @property
    def features(self) -> list[str]:
        return list(self.state["features"])

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(
            name=str(self.state["feature_set"]),
            features=list(self.state["features"]),
            indicators=list(self.state["missing_indicators"]),
        )

    @property
    def catalog(self) -> str:
        return str(self.state["catalog"])

    @property
    def class_prior(self) -> np.ndarray | None:
        """The training class shares, averaged over the run's models (None for old checkpoints)."""
        priors = [m.model.class_prior for m in self.members]
        return (
            None
            if any(p is None for p in priors)
            else np.mean(np.asarray(priors, dtype=float), axis=0)
        )

    @cached_property
    def training_ids(self) -> set[str] | None:
        """Ids of every row any of the run's models was trained or validated on (for a CV run, the
        union over its folds: every labelled row of its catalog); None when a checkpoint predates
        recorded ids."""
        if any("train_ids" not in m.state for m in self.members):
            return None
        from xnet.data.ids import canonical_ids

        return canonical_ids(
            i
            for m in self.members
            for key in ("train_ids", "val_ids")
            for i in m.state.get(key) or ()
        )

    @property
    def prior_power(self) -> float:
        return self.members[0].model.prior_power


def checkpoints_of(run: Path) -> tuple[list[Path], list[dict]]:
    """The checkpoints a run directory's metrics.json names (one, one per CV fold, or with
    `ensemble.members` > 1 every network of every split), and its split blocks."""
    metrics_path = run / "metrics.json"
    if not metrics_path.exists():
        if (run / "summary.csv").exists():
            raise XnetError(
                f"run={run}: is a sweep directory; pass one of its job directories "
                f"(e.g. {run / '0'})"
            )
        raise XnetError(
            f"run={run}: no metrics.json; pass a finished training run directory or a .ckpt file"
        )
    try:
        metrics = json.loads(read_bounded(metrics_path, "metrics.json"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise XnetError(
            f"{metrics_path}: not valid JSON ({err}); pass a .ckpt file instead"
        ) from None
    blocks = (metrics.get("folds") or [metrics]) if isinstance(metrics, dict) else [None]
    if not all(isinstance(b, dict) for b in blocks):
        raise XnetError(
            f"{metrics_path}: not a metrics.json of xnet.train; pass a .ckpt file instead"
        )
    names = [name for b in blocks for name in (b.get("checkpoints") or [b.get("checkpoint")])]
    if not names or not all(names):
        raise XnetError(f"{metrics_path}: names no checkpoint; pass a .ckpt file instead")
    paths = [path_inside(run, n) for n in names]
    if None in paths:
        outside = names[paths.index(None)]
        raise XnetError(
            f"{metrics_path}: names checkpoint {outside!r}, not a path inside the run; pass a "
            f".ckpt file instead"
        )
    absent = [str(p) for p in paths if not p.exists()]
    if absent:
        raise XnetError(
            f"run={run}: checkpoint {', '.join(absent)} named in metrics.json not found"
        )
    return paths, blocks


def tree_members(run: Path, blocks: list[dict]) -> tuple[list, float]:
    """The run's tree members (`ensemble.trees`: `checkpoints/<split>-trees.npz`, one per split,
    NumPy only) and their blend weight, as its metrics.json split blocks name them; none for a run
    without."""
    named = [b["trees"] for b in blocks if b.get("trees")]
    if not named:
        return [], 0.0
    from xnet.models.artifacts.trees import TreeArrays

    weights = {float(t["weight"]) for t in named}
    paths = [path_inside(run, t["checkpoint"]) for t in named]
    if None in paths:
        raise XnetError(f"run={run}: metrics.json names a tree member outside the run; retrain")
    absent = [str(p) for p in paths if not p.exists()]
    if absent or len(weights) != 1:
        raise XnetError(
            f"run={run}: tree member {', '.join(absent) or 'weights'} named in metrics.json "
            f"{'not found' if absent else 'differ between splits'}; retrain, or pass one .ckpt file"
        )
    for p in paths:
        check_readable(p, "checkpoint")
    return [TreeArrays.load(p) for p in paths], weights.pop()


def run_config(run_dir: Path) -> tuple[dict | None, str]:
    """The `data` block and the `coverage.confidence` measure of the run's composed config
    (None and "probability" when the run directory has none, or an older or damaged one)."""
    path = run_dir / ".hydra" / "config.yaml"
    if not path.exists():
        return None, "probability"
    try:
        cfg = OmegaConf.create(read_bounded(path, "config").decode("utf-8"))
    except XnetError:
        raise
    except Exception:  # a damaged config only costs the default catalog
        return None, "probability"
    if not isinstance(cfg, DictConfig):
        return None, "probability"
    node = cfg.get("data")
    confidence = str(OmegaConf.select(cfg, "coverage.confidence", default=None) or "probability")
    if confidence not in CONFIDENCE_KINDS:
        raise XnetError(
            f"{path}: coverage.confidence={confidence!r} is not one of "
            f"{', '.join(CONFIDENCE_KINDS)}; "
            f"fix the run's config (as trained: see metrics.json `coverage`)"
        )
    return (plain_config(node) if node is not None else None), confidence


def load_run(source: str | Path) -> TrainedRun:
    """A training run directory (all its checkpoints) or a single .ckpt file."""
    path = Path(str(source)).expanduser()
    if not path.exists():
        raise XnetError(
            f"run={path}: not found; pass a training run directory (with metrics.json) or a "
            f".ckpt file"
        )
    if path.is_dir():
        (paths, blocks), run_dir = checkpoints_of(path), path
    else:
        paths, blocks, run_dir = [path], [], run_of(path)
    members = [load_model(p) for p in paths]
    first = members[0].state
    run = TrainedRun(source=path, members=members, data_cfg=None)
    if run.spec.columns != list(first["feature_names"]):
        raise XnetError(
            f"run={path}: checkpoint's feature names {first['feature_names']} do not follow its "
            f"feature list; retrain"
        )
    for m in members[1:]:
        if (
            m.state["classes"] != first["classes"]
            or m.state["feature_names"] != first["feature_names"]
        ):
            raise XnetError(
                f"run={path}: checkpoints {members[0].path.name} and {m.path.name} differ in "
                f"classes or features"
            )
    if len(members) > 1:
        log.info("run %s: %d fold models; probabilities are their mean", path, len(members))
    run.data_cfg, run.confidence = run_config(run_dir)
    run.trees, run.tree_weight = tree_members(path, blocks)
    if run.trees:
        log.info(
            "run %s: blends %d tree member(s) at weight %g with its networks, as in training",
            path,
            len(run.trees),
            run.tree_weight,
        )
    return run
