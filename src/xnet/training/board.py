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

from xnet.training.metrics import HEADLINE
from xnet.training.overrides import read_overrides, run_name, varying_overrides

#: main model settings shown as hparams columns next to the sweep's varying keys
MAIN_SETTINGS = (
    "model.hidden",
    "model.depth",
    "model.dropout",
    "model.lr",
    "model.batch_size",
    "cv.folds",
    "data",
    "features",
    "resample",
)
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


def class_counts(y: np.ndarray, classes: Sequence[str]) -> dict[str, int]:
    return {c: int(n) for c, n in zip(classes, np.bincount(y, minlength=len(classes)))}


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{c} {n}" for c, n in counts.items())


class MemberLogger(TensorBoardLogger):
    """A member's TensorBoardLogger whose first value of a described tag carries the description
    (TensorBoard keeps the first one): `val/acc_<class>` says how many validation sources it has."""

    def __init__(self, *args, descriptions: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.descriptions = dict(descriptions or {})

    def log_metrics(self, metrics, step=None) -> None:
        """All of a step's scalars as one event (one Summary with a value per tag; TensorBoard reads
        it as Lightning's one event per scalar, same tags, steps and values); the first value of a
        described tag carries its description."""
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata

        values = []
        for tag, value in metrics.items():
            value = float(value.item() if hasattr(value, "item") else value)
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
        if values:
            self.experiment._get_file_writer().add_summary(Summary(value=values), step)


def member_logger(member) -> MemberLogger | None:
    """The member's logger, nested under its job's run: `<job run>/members/<tag>`."""
    job = member.job
    if getattr(job, "board", None) is None:
        return None
    counts = class_counts(job.data.y[member.split.val], job.data.classes)
    total = sum(counts.values())
    descriptions = {
        f"val/acc_{c}": (
            f"Validation accuracy (recall) of {c} in {member.tag}: {n} of the {total} validation sources "
            f"are {c}, so the curve moves in steps of {'1/' + str(n) if n else 'nothing (no such source)'}."
        )
        for c, n in counts.items()
    }
    return MemberLogger(
        save_dir=str(job.board),
        name=MEMBERS,
        version=member.tag,
        default_hp_metric=False,
        descriptions=descriptions,
    )


def hparam_values(job) -> dict[str, object]:
    """The job's varying keys first, then the main settings, as plain numbers/strings/bools."""
    from xnet.training.lightcurves import encoder_settings

    values: dict[str, object] = {}
    for key in [*job.varying, *MAIN_SETTINGS, *encoder_settings(job.cfg)]:
        if key in values:
            continue
        value = OmegaConf.select(job.cfg, key, default=None)
        if isinstance(value, (dict, list)) or OmegaConf.is_config(value) or value is None:
            value = job.varying.get(key, OmegaConf.select(job.cfg, f"{key}.name", default=None))
        if value is not None:
            values[key] = value if isinstance(value, (int, float, bool)) else str(value)
    return values


def job_metrics(payload: dict) -> dict[str, float]:
    """hparams metrics: CV mean and std over folds, or the test values of one split."""
    if "mean" in payload:
        return {
            **{f"hp/cv_mean_{k}": float(payload["mean"][k]) for k in HEADLINE},
            **{f"hp/cv_std_{k}": float(payload["std"][k]) for k in HEADLINE},
        }
    return {f"hp/test_{k}": float(payload[k]) for k in HEADLINE}


def layout(job, label: str) -> dict:
    """Custom-scalars layout: per job, all classes' validation accuracy in one chart."""
    counts = counts_text(class_counts(job.data.y[job.splits[0].val], job.data.classes))
    return {
        f"job {label}": {
            f"validation accuracy per class (validation sources per class: {counts}; "
            f"this job's runs: filter ^{label}/)": ["Multiline", [r"^val/acc_"]],
            "loss": ["Multiline", [r"^(train|val)/loss$"]],
            "balanced accuracy": ["Multiline", [r"^(train|val)/balanced_accuracy$"]],
        }
    }


def mark_differing(exp, varying: dict) -> None:
    """Mark the sweep's varying keys `differs` in the experiment summary: TensorBoard's HPARAMS tab
    sorts those first and ticks them (else the first few names alphabetically, all constants)."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    plugin_data = exp.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(plugin_data.content)
    for info in content.experiment.hparam_infos:
        info.differs = info.name in varying
    plugin_data.content = content.SerializeToString()


def job_writer(job):
    """A SummaryWriter on the job's run (None without logger)."""
    if getattr(job, "board", None) is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(job.board))


def write_job_summary(writer, job, payload: dict) -> None:
    """The job's hparams session (hparams, CV mean/std or test metrics) and custom-scalars layout."""
    from torch.utils.tensorboard.summary import hparams

    label = run_name(job.varying) or job.run_dir.name
    metrics = job_metrics(payload)
    exp, ssi, sei = hparams(hparam_values(job), metrics)
    mark_differing(exp, job.varying)
    file_writer = writer._get_file_writer()
    for summary in (exp, ssi, sei):
        file_writer.add_summary(summary)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, 0)
    writer.add_custom_scalars(layout(job, label))
