"""Training runs from composed configs: the work behind `python -m xnet.train`, the stacked sweep
launcher and `xnet.api.train`."""

from __future__ import annotations

import errno
import logging
import warnings
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from xnet.errors import XnetError
from xnet.evaluation.metrics import HEADLINE, HEADLINE_NAMES, ranked
from xnet.files import os_reason
from xnet.runs.job_logs import CONSOLE, LogFile, SweepConsole, job_logs

log = logging.getLogger("xnet.train")


def quiet_lightning() -> None:
    """Lightning's start-up chatter (GPU available, model summary, ...) is noise for a CPU MLP."""
    for name in (
        "lightning.pytorch.utilities.rank_zero",
        "lightning.pytorch.accelerators.cuda",
        "lightning.fabric",
        "lightning.pytorch.trainer.connectors.signal_connector",  # SIGTERM: xnet says it once
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    for message in (
        ".*does not have many workers.*",
        ".*LeafSpec.*",
        ".*treespec.*",
        ".*exists and is not empty.*",
    ):
        warnings.filterwarnings("ignore", message=message)


def train_many(
    cfgs: Sequence[DictConfig],
    run_dirs: Sequence[str | Path],
    log_files: Sequence[Sequence[LogFile]] | None = None,
    console: SweepConsole | None = None,
) -> list[dict]:
    """Train several runs; members that can share a StackedClassifier (the folds of a run, the
    networks of an ensemble, runs differing only in width/dropout/seed) train together unless
    `batching.enabled=false`; members of the plain engine one by one (`train_plain`). Writes each
    run's metrics.json and returns the payloads. `log_files`: per run, the log files its lines go
    to (a sweep job's own log; a shared stack's lines go to the logs of every job in it).
    `console`: a sweep's (the data summary, warnings and one result line per job, each once)."""
    from xnet.plotting.png import RENDERER
    from xnet.training.board import assign_boards
    from xnet.training.stacking import make_members, prepare_job

    quiet_lightning()
    cache: dict = {}
    files = list(log_files) if log_files is not None else [()] * len(cfgs)
    try:
        with (
            refused_writes(run_dirs[0]),
            job_logs(enumerate(files)) as logs,
            console.active() if console else nullcontext(),
        ):
            jobs = [
                logs.prepare(index, lambda c=cfg, d=run_dir: prepare_job(c, Path(d), cache))
                for index, (cfg, run_dir) in enumerate(zip(cfgs, run_dirs))
            ]
            assign_boards(jobs)
            draw_data_figures_ahead(jobs)
            number = {id(job): index for index, job in enumerate(jobs)}
            members = make_members(jobs)
            results = train_plain(members, logs, number)  # the plain engine's, one by one
            train_stacks(members, results, logs, number)
            payloads = finish_jobs(jobs, members, results, logs, number, console)
    finally:
        # a failed run's unfinished figures must not reach the next run (finish_job finishes them)
        RENDERER.discard()
    return payloads


def train_stacks(members: list, results: dict, logs, number: dict) -> None:
    """The members the plain engine left, fitted a stack at a time (`plan_stacks`) and evaluated
    one by one; their results go into `results` by member id."""
    from xnet.training.evaluation import evaluate_member
    from xnet.training.stacking import fit_stack, plan_stacks

    for stack in plan_stacks([mb for mb in members if id(mb) not in results]):
        with logs.attached(*(number[id(mb.job)] for mb in stack)):
            module = fit_stack(stack)
        for k, member in enumerate(stack):
            with logs.attached(number[id(member.job)]):
                results[id(member)] = evaluate_member(module, k, member)


def finish_jobs(
    jobs: list, members: list, results: dict, logs, number: dict, console: SweepConsole | None
) -> list[dict]:
    """Each job's metrics.json from its members' results, in its own logs; a sweep's console gets
    one result line per job. Returns the payloads."""
    from xnet.training.report import finish_job

    payloads = []
    for job in jobs:
        with logs.attached(number[id(job)]):
            payloads.append(finish_job(job, [results[id(mb)] for mb in members if mb.job is job]))
            if console is not None:
                log.info("%s", result_line(job, payloads[-1]), extra=CONSOLE)
    return payloads


#: a write the OS refuses: disk full, quota, file-size limit, read-only file system
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


@contextmanager
def refused_writes(run_dir: str | Path):
    """A write the OS refuses during training (`WRITE_ERRNOS`) as one line naming the file."""
    try:
        yield
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:
            raise
        raise XnetError(
            f"{err.filename or run_dir}: cannot write it ({os_reason(err)}); the run did not "
            f"finish (no metrics.json): free space, or choose another run directory"
        ) from None


def train_plain(members: list, logs, number: dict) -> dict[int, dict]:
    """The members of the plain engine (`xnet.training.engine`), each fitted by Lightning's own
    loop and evaluated (`xnet.training.plain`); their results by member id."""
    from xnet.training.engine import engine_of

    results: dict[int, dict] = {}
    for member in members:
        if engine_of(member.job.cfg) == "plain":
            from xnet.training.plain import train_member

            with logs.attached(number[id(member.job)]):
                results[id(member)] = train_member(member)
    return results


def result_line(job, payload: dict) -> str:
    """A sweep job's result in one line, named by its overrides, the ranking metric first."""
    from xnet.runs.overrides import run_name

    names, order = HEADLINE_NAMES, ranked(str(job.cfg.optimized_metric))
    if "mean" in payload:
        values = [f"{names[k]} {payload['mean'][k]:.3f} ± {payload['std'][k]:.3f}" for k in order]
        where = f"{payload['cv_folds']}-fold CV"
    else:
        values = [f"{names[k]} {payload[k]:.3f}" for k in order]
        where = f"test, n={payload['n_test']}"
    name = run_name(job.varying) or f"job {job.run_dir.name}"
    return f"{name}: {', '.join(values)} ({where})"


def draw_data_figures_ahead(jobs: list) -> None:
    """A first run on new data draws its data figures while its networks train (a child process,
    `xnet.plotting.figure_cache.draw_ahead`); a sweep's jobs on the same data share one drawing."""
    for job in jobs:
        if job.cfg.figures.enabled and job.cfg.figures.cache:
            from xnet.plotting.figure_cache import draw_ahead

            draw_ahead(job.data, job.splits[0])


def train(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """Run the configured training; returns (and writes) the metrics.json payload."""
    check_config(cfg)
    return train_many([cfg], [run_dir])[0]


def check_config(cfg: DictConfig) -> None:
    """The composed config against the schema (`xnet.config.schema`), before any work starts."""
    from xnet.config.schema import validate_config
    from xnet.training.engine import check_engine

    validate_config(cfg, "train")
    check_optimized_metric(cfg)
    check_engine(cfg)  # trainer flags, loggers and callbacks the chosen engine honours


def check_optimized_metric(cfg: DictConfig) -> None:
    if cfg.optimized_metric not in HEADLINE:
        raise XnetError(
            f"optimized_metric={cfg.optimized_metric!r} is not one of {', '.join(HEADLINE)}"
        )


def optimized_value(payload: dict, name: str) -> float:
    """The metric Hydra sweepers optimise: the CV mean where there are folds, else the test
    value."""
    source = payload.get("mean", payload)
    if name not in source:
        raise XnetError(f"optimized_metric={name!r} is not one of {', '.join(HEADLINE)}")
    return float(source[name])


def run_deferred(
    jobs: list[tuple[DictConfig, str, list[LogFile]]], console: SweepConsole | None = None
) -> list[float]:
    """Train recorded jobs (config, run dir, log files) together (stacked where possible); their
    optimized metrics."""
    payloads = train_many(
        [job[0] for job in jobs], [job[1] for job in jobs], [job[2] for job in jobs], console
    )
    return [optimized_value(p, str(job[0].optimized_metric)) for p, job in zip(payloads, jobs)]
