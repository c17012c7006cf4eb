"""Training runs from composed configs: the work behind `python -m xnet.train`, the stacked sweep
launcher and `xnet.api.train`."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig

from xnet.errors import XnetError
from xnet.training.metrics import HEADLINE


def quiet_lightning() -> None:
    """Lightning's start-up chatter (GPU available, model summary, ...) is noise for a CPU MLP."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for message in (".*does not have many workers.*", ".*LeafSpec.*", ".*treespec.*", ".*exists and is not empty.*"):
        warnings.filterwarnings("ignore", message=message)


def train_many(cfgs: Sequence[DictConfig], run_dirs: Sequence[str | Path]) -> list[dict]:
    """Train several runs; members that can share a StackedClassifier (the folds of a run, the
    networks of an ensemble, runs differing only in width/dropout/seed) train together unless
    `batching.enabled=false`. Writes each run's metrics.json and returns the payloads."""
    from xnet.training.board import assign_boards
    from xnet.training.evaluation import evaluate_member
    from xnet.training.report import finish_job
    from xnet.training.stacking import fit_stack, make_members, plan_stacks, prepare_job

    quiet_lightning()
    cache: dict = {}
    jobs = [prepare_job(cfg, Path(d), cache) for cfg, d in zip(cfgs, run_dirs)]
    assign_boards(jobs)
    members = make_members(jobs)
    results: dict[int, dict] = {}
    for stack in plan_stacks(members):
        module = fit_stack(stack)
        for k, member in enumerate(stack):
            results[id(member)] = evaluate_member(module, k, member)
    return [finish_job(job, [results[id(mb)] for mb in members if mb.job is job]) for job in jobs]


def train(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run the configured training; returns (and writes) the metrics.json payload."""
    check_optimized_metric(cfg)
    return train_many([cfg], [run_dir])[0]


def check_optimized_metric(cfg: DictConfig) -> None:
    if cfg.optimized_metric not in HEADLINE:
        raise XnetError(f"optimized_metric={cfg.optimized_metric!r} is not one of {', '.join(HEADLINE)}")


def optimized_value(payload: dict, name: str) -> float:
    """The metric Hydra sweepers optimise: the CV mean where there are folds, else the test value."""
    source = payload.get("mean", payload)
    if name not in source:
        raise XnetError(f"optimized_metric={name!r} is not one of {', '.join(HEADLINE)}")
    return float(source[name])


def run_deferred(jobs: list[tuple[DictConfig, str]]) -> list[float]:
    """Train recorded jobs together (stacked where possible); their optimized metrics."""
    payloads = train_many([cfg for cfg, _ in jobs], [run_dir for _, run_dir in jobs])
    return [optimized_value(p, str(cfg.optimized_metric)) for p, (cfg, _) in zip(payloads, jobs)]
