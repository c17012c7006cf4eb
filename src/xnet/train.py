"""`python -m xnet.train`: train and evaluate on a labelled catalog (one split or K folds).

Writes into the Hydra run directory: metrics.json, checkpoints/, tensorboard/ and .hydra/.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from xnet.training import launcher_state as deferral
from xnet.config import CONFIG_DIR
from xnet.errors import XnetError
from xnet.training.evaluation import evaluate_member, finish_job, write_json  # noqa: F401 (write_json: xnet.predict)
from xnet.training.metrics import HEADLINE
from xnet.training.stacking import fit_stack, make_members, plan_stacks, prepare_job

log = logging.getLogger(__name__)


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
    quiet_lightning()
    cache: dict = {}
    jobs = [prepare_job(cfg, Path(d), cache) for cfg, d in zip(cfgs, run_dirs)]
    members = make_members(jobs)
    results: dict[int, dict] = {}
    for stack in plan_stacks(members):
        module = fit_stack(stack)
        for k, member in enumerate(stack):
            results[id(member)] = evaluate_member(module, k, member)
    return [finish_job(job, [results[id(mb)] for mb in members if mb.job is job]) for job in jobs]


def train(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run the configured training; returns (and writes) the metrics.json payload."""
    return train_many([cfg], [run_dir])[0]


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


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    if cfg.optimized_metric not in HEADLINE:
        raise XnetError(f"optimized_metric={cfg.optimized_metric!r} is not one of {', '.join(HEADLINE)}")
    run_dir = HydraConfig.get().runtime.output_dir
    if deferral.recorded is not None:  # the stacked sweep launcher trains all jobs afterwards
        deferral.recorded.append((cfg, run_dir))
        return None
    payload = train(cfg, run_dir)
    return optimized_value(payload, str(cfg.optimized_metric))


def check_group_choices(argv: list[str], config_dir: Path = CONFIG_DIR) -> None:
    """A one-line error for `group=value` naming a config that does not exist (Hydra's own message
    spans a screen). Looks in conf/ and any --config-dir/-cd; other mistakes are left to Hydra."""
    dirs = [config_dir]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]))
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = key.lstrip("+~")
        if not sep or "." in key or "/" in key or key.startswith("-") or not value or value == "null":
            continue
        groups = [d / key for d in dirs if (d / key).is_dir()]
        if not groups:
            continue
        for choice in value.split(","):
            if not any((g / f"{choice}.yaml").exists() for g in groups):
                options = sorted({p.stem for g in groups for p in g.glob("*.yaml")})
                raise XnetError(f"{key}={choice}: no such {key} config; available: {', '.join(options)}")


def main() -> None:
    import sys

    from xnet.errors import exit_on_error

    exit_on_error(lambda: check_group_choices(sys.argv[1:]))
    _hydra_main()


if __name__ == "__main__":
    # run the importable xnet.train, not this __main__ copy: joblib's workers then pickle the task
    # function by reference instead of by value (which drags torch objects along and fails)
    from xnet.train import main as _main

    _main()
