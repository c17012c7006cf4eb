"""Where and what a run writes to TensorBoard, laid out for browsing a sweep.

- One TensorBoard run per job. A single run: `<run dir>/tensorboard/`. A sweep's job:
  `<sweep dir>/tensorboard/<varying overrides>/` (`hidden=30,depth=2`), so that
  `tensorboard --logdir <sweep dir>/tensorboard` lists one named run per job.
- Each network (fold, ensemble member) nested under its job: `<job run>/members/<fold_k[-mN]>/`;
  the run filter `^(?!.*members)` hides them all.
- The job run holds one hparams session (the sweep's varying keys and the main model settings;
  metrics: CV mean and std, or test values for one split), a custom-scalars layout (all classes'
  validation accuracy in one chart, per-class validation counts in the title) and the figures.
- A member's `val/acc_<class>` carries its validation count in the tag's description, so a curve
  that jumps in steps of 1/2 says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf

from xnet.plotting.png import add_summary
from xnet.runs.overrides import read_overrides, run_name, varying_overrides

MEMBERS = "members"


def sweep_params(run_dir: Path) -> tuple[bool, list[str]]:
    """(is this job part of a multirun, the keys its sweeper searches: Optuna's `params`)."""
    path = Path(run_dir) / ".hydra" / "hydra.yaml"
    if not path.exists():
        return False, []
    hydra_cfg = OmegaConf.load(path).hydra
    params = OmegaConf.select(hydra_cfg, "sweeper.params") or {}
    return "MULTIRUN" in str(hydra_cfg.get("mode")), list(params)


def assign_boards(jobs: list) -> None:
    """Set each job's TensorBoard run folder (`job.board`, None without logger) and its varying
    overrides (`job.varying`), from the jobs trained together and their .hydra/ records."""
    overrides = [read_overrides(job.run_dir) for job in jobs]
    modes = [sweep_params(job.run_dir) for job in jobs]
    searched = [k for _, params in modes for k in params]
    varying = (
        varying_overrides(overrides, searched) if len(jobs) > 1 or searched else [{} for _ in jobs]
    )
    taken: set[Path] = set()
    for job, own, vary, (multirun, _) in zip(jobs, overrides, varying, modes):
        job.varying = vary if multirun else {}
        name = job.cfg.logger.get("name")
        if not name:
            job.board = None
            continue
        if not multirun:
            job.board = job.run_dir / str(name)
            continue
        label = run_name(vary or own) or f"job{job.run_dir.name}"
        board = job.run_dir.parent / str(name) / label
        if board in taken or board.exists():  # the same values in another batch of a search
            board = board.with_name(f"{label}#{job.run_dir.name}")
        taken.add(board)
        job.board = board


def shows_data_figures(job) -> bool:
    """Whether the job's run gets the data figures (class shares, sky map, ...): a single run
    always; in a sweep only the first job on the same data content, so that they appear once (a
    marker per content key in the sweep's tensorboard/ folder, across Optuna's batches too)."""
    board = getattr(job, "board", None)
    if board is None:
        return False
    if board.parent == job.run_dir:
        return True
    from xnet.plotting.figure_cache import content_key

    marker = board.parent / ".data_figures" / content_key(job.data, job.splits[0])
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


def class_counts(y: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    return {c: int(n) for c, n in zip(classes, np.bincount(y, minlength=len(classes)))}


class MemberLogger(TensorBoardLogger):
    """A member's TensorBoardLogger whose first value of a described tag carries the description
    (TensorBoard keeps the first one): `val/acc_<class>` says how many validation sources it has."""

    def __init__(
        self,
        *args,
        descriptions: dict[str, str] | None = None,
        val_counts: dict[str, int] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.descriptions = dict(descriptions or {})
        self.val_counts = dict(val_counts or {})  # validation sources per class
        self.history: list[tuple[int, dict[str, float]]] = []  # (step, {tag: value}) as written

    def log_metrics(self, metrics, step=None) -> None:
        """All of a step's scalars as one event (one Summary with a value per tag; TensorBoard reads
        it as Lightning's one event per scalar, same tags, steps and values); the first value of a
        described tag carries its description."""
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata

        values, row = [], {}
        for tag, value in metrics.items():
            value = row[tag] = float(value.item() if hasattr(value, "item") else value)
            description = self.descriptions.pop(tag, None)
            metadata = (
                None
                if description is None
                else SummaryMetadata(
                    summary_description=description,
                    plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"),
                )
            )
            values.append(Summary.Value(tag=tag, simple_value=value, metadata=metadata))
        self.history.append((step, row))
        if values:
            add_summary(self.experiment, Summary(value=values), step)


def member_logger(member) -> MemberLogger | None:
    """The member's logger, nested under its job's run: `<job run>/members/<tag>`."""
    job = member.job
    if getattr(job, "board", None) is None:
        return None
    counts = class_counts(job.data.y[member.split.val], job.data.classes)
    total = sum(counts.values())
    descriptions = {
        f"val/acc_{c}": (
            f"Validation accuracy (recall) of {c} in {member.tag}: {n} of the {total} validation "
            f"sources are {c}, so the curve moves in steps of "
            f"{'1/' + str(n) if n else 'nothing (no such source)'}."
        )
        for c, n in counts.items()
    }
    logger = MemberLogger(
        save_dir=str(job.board),
        name=MEMBERS,
        version=member.tag,
        default_hp_metric=False,
        descriptions=descriptions,
        val_counts=counts,
    )
    job.member_logs.append(logger)  # the job's run averages them (xnet.training.job_board)
    return logger


def job_writer(job):
    """A SummaryWriter on the job's run (None without logger)."""
    if getattr(job, "board", None) is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(job.board))
