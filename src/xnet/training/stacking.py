"""Planning and fitting stacks: which networks train together as one StackedClassifier.

A job is one training run (config, run directory, labelled set, splits); a member is one network
of it (a split, and for an ensemble one of its networks). Members that agree on everything but
width, dropout, seed and data train as one stack.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from xnet.data.labelled import LabelledSet
from xnet.data.prepare import config_key, data_key, job_data
from xnet.data.splits import Split, ensemble_splits
from xnet.models.optim import optimizer_settings
from xnet.models.stacked import StackedClassifier
from xnet.plotting.renderer import Renderer
from xnet.runs.job_logs import CONSOLE
from xnet.training.board import member_logger
from xnet.training.datamodule import StackedDataModule, XrayDataModule

log = logging.getLogger("xnet.train")


@dataclass
class Job:
    """One training run: its config, run directory, labelled set and splits."""

    cfg: DictConfig
    run_dir: Path
    data: LabelledSet
    splits: list[Split]
    board: Path | None = None  # its TensorBoard run (xnet.training.board.assign_boards)
    varying: dict = field(default_factory=dict)  # its overrides that vary across the sweep
    member_logs: list = field(default_factory=list)  # its networks' TensorBoard loggers
    renderer: Renderer = field(default_factory=Renderer)  # its figures (xnet.plotting.renderer)


@dataclass
class Member:
    """One model to fit: a split of a job (a fold, or the hold-out split), and for an ensemble one
    of its networks (its own inner train/validation split of the training part, its own seed)."""

    job: Job
    split: Split
    dm: XrayDataModule
    seed: int = 1
    index: int = 0

    @property
    def split_tag(self) -> str:
        return f"fold_{self.split.fold}" if len(self.job.splits) > 1 else "holdout"

    @property
    def tag(self) -> str:
        return (
            f"{self.split_tag}-m{self.index}"
            if int(self.job.cfg.ensemble.members) > 1
            else self.split_tag
        )


#: config keys stacked members may differ in; everything else must be shared to stack them
MEMBER_KEYS = (
    "model.hidden",
    "model.dropout",
    "seed",
    "cv",
    "split.test_size",
    "split.val_size",
    "task_name",
)


def stack_key(cfg: DictConfig) -> str:
    """Members whose configs agree on this string train together in one StackedClassifier."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    for dotted in MEMBER_KEYS:
        node = plain
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)
    return json.dumps(plain, sort_keys=True, default=str)


def plan_stacks(members: list[Member]) -> list[list[Member]]:
    """Group members into stacks: same stack key and batches per epoch, widths within
    `batching.max_width_ratio` of the stack's narrowest (a narrow member padded to a much wider
    stack would cost as much as the wide one). With `batching.enabled=false` every member trains
    alone (the sequential reference)."""
    groups: dict[str, list[Member]] = {}
    for index, member in enumerate(members):
        if not member.job.cfg.batching.enabled:
            groups[str(index)] = [member]
            continue
        # Adam keeps one step count per stacked tensor: members must take the same batches per epoch
        member.dm.setup("fit")
        n = len(member.dm.y_train)
        batch = min(int(member.job.cfg.model.batch_size), n)
        key = f"{stack_key(member.job.cfg)}|batch={batch}|steps={-(-n // batch)}"
        groups.setdefault(key, []).append(member)
    stacks = []
    for group in groups.values():
        ratio = float(group[0].job.cfg.batching.max_width_ratio)
        current: list[Member] = []
        for member in sorted(group, key=lambda mb: int(mb.job.cfg.model.hidden)):
            if current and int(member.job.cfg.model.hidden) > ratio * int(
                current[0].job.cfg.model.hidden
            ):
                stacks.append(current)
                current = []
            current.append(member)
        stacks.append(current)
    return stacks


def prepare_job(cfg: DictConfig, run_dir: Path, cache: dict | None = None) -> Job:
    """Load the labelled set and make the splits (shared by jobs whose data settings agree)."""
    cache = {} if cache is None else cache
    key = data_key(cfg)
    if key not in cache:
        cache[key] = job_data(cfg)
    data, splits = cache[key]
    from xnet.training.lightcurves import check_encoder_inputs

    check_encoder_inputs(cfg, data)  # each encoder's input is one the data carries
    log.info(  # for every job (a sweep job's own log holds it too; a sweep's console once)
        "%s: %d sources, %d classes (%s), %d features (%s)",
        data.catalog.name,
        len(data.y),
        len(data.classes),
        ", ".join(data.classes),
        len(data.feature_names),
        data.spec.name,
        extra=CONSOLE,
    )
    return Job(cfg=cfg, run_dir=Path(run_dir), data=data, splits=splits)


def stack_threads(setting, n_members: int, width: int) -> int:
    """torch threads for a stack: `model.num_threads`, or with `auto` one thread for a lone small
    network (thread start-up costs more than its tiny matrix products) and the idle cores for a
    stack (measured: 5 x 30-30 members 16 % faster per step on 2 quiet cores, 5 x 100-100 38 %).
    Idle means not running another process now (`busy_cores`): an OpenMP team on a busy core
    waits at every barrier for a thread the OS has descheduled, and the same 16k-row 5-fold CV
    took 139 s with two threads against 13.5 s with one while two other trainings ran."""
    if str(setting) != "auto":
        return max(1, int(setting))
    if n_members * width <= 60:
        return 1
    from xnet.runtime.cores import free_cores

    return free_cores()


class IdleCoreThreads(L.Callback):
    """Sets torch's threads to `stack_threads` before the fit and again every `every` epochs: a
    stack that starts beside the data figures' child (one thread) takes the second core once the
    child is done, and gives it up when another process starts."""

    def __init__(self, setting, n_members: int, width: int, every: int = 10):
        self.args, self.every = (setting, n_members, width), every

    def apply(self) -> None:
        threads = stack_threads(*self.args)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if (
            trainer.current_epoch % self.every == 0
            and trainer.current_epoch
            and str(self.args[0]) == "auto"
        ):
            self.apply()


def fit_stack(members: list[Member]) -> StackedClassifier:
    """Train members that share a stack key as one StackedClassifier (best weights kept per
    member)."""
    cfg = members[0].job.cfg
    m, es = cfg.model, cfg.early_stopping
    threads = IdleCoreThreads(
        m.num_threads, len(members), max(int(mb.job.cfg.model.hidden) for mb in members)
    )
    threads.apply()
    L.seed_everything(int(cfg.seed), workers=False, verbose=False)
    seeds = [int(mb.seed) for mb in members]
    data = StackedDataModule([mb.dm for mb in members], batch_size=int(m.batch_size), seeds=seeds)
    module = StackedClassifier(
        n_features=members[0].dm.n_features,
        class_names=members[0].dm.classes,
        hiddens=[int(mb.job.cfg.model.hidden) for mb in members],
        depth=int(m.depth),
        dropouts=[float(mb.job.cfg.model.dropout) for mb in members],
        seeds=seeds,
        optimizer=optimizer_settings(m),
        early_stopping={
            "monitor": str(es.monitor),
            "mode": str(es.mode),
            "patience": int(es.patience),
            "min_delta": float(es.min_delta),
        },
        log_every_n_epochs=int(cfg.batching.log_every_n_epochs),
        encoders=encoder_specs(m),
        retire=bool(cfg.batching.retire),
    )
    module.member_loggers = [member_logger(mb) for mb in members]
    from xnet.training.progress import StackProgress

    module.progress = StackProgress(
        cfg.progress,
        int(cfg.trainer.max_epochs),
        len(members),
        str(es.monitor),
        str(es.mode),
    )
    trainer = hydra.utils.instantiate(
        cfg.trainer, logger=False, callbacks=[threads], enable_checkpointing=False
    )
    fit_timed(trainer, module, data, len(members))
    return module


def fit_timed(trainer, module: StackedClassifier, data, n_members: int) -> None:
    """`trainer.fit` of a stack, its progress bar finished and closed, and one line with the time
    per member-epoch."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():  # the stack runs its own Adam (`FlatParameters`)
            warnings.filterwarnings("ignore", ".*configure_optimizers` returned `None`")
            trainer.fit(module, datamodule=data)
        module.progress.finish()
    finally:
        module.progress.close()
    seconds, member_epochs = time.perf_counter() - start, int((module.stop_epoch + 1).sum())
    log.info(  # benchmarks/commands.py reads this line
        "trained %d networks as one stack in %.2f s: %d member-epochs, %.2f ms each",
        n_members,
        seconds,
        member_epochs,
        1e3 * seconds / max(member_epochs, 1),
    )


def encoder_specs(model_cfg: DictConfig) -> dict | None:
    """`model.encoders` as plain values (None when the model reads the catalog features only)."""
    encoders = model_cfg.get("encoders")
    return OmegaConf.to_container(encoders, resolve=True) if encoders else None


def make_members(jobs: list[Job]) -> list[Member]:
    """Every network to fit: per job, per split, per ensemble network. One scaler / resampled
    training set per (labelled set, split, network, resampling, seed), shared by every member that
    trains on it (the widths of a sweep on the same fold)."""
    modules: dict[tuple, XrayDataModule] = {}
    members = []
    for job in jobs:
        cfg = job.cfg
        for outer in job.splits:
            inner = ensemble_splits(
                outer,
                job.data.y,
                float(cfg.split.val_size),
                int(cfg.seed),
                int(cfg.ensemble.members),
                groups=job.data.groups,
            )
            for index, (split, seed) in enumerate(inner):
                key = (id(job.data), split.fold, index, config_key(cfg.resample, seed))
                if key not in modules:
                    modules[key] = XrayDataModule(job.data, split, cfg.resample, seed=seed)
                members.append(
                    Member(job=job, split=split, dm=modules[key], seed=seed, index=index)
                )
    return members
