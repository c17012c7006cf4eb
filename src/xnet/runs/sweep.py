"""Hydra callback: after a multirun, one table of every job's overrides and headline metrics."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from xnet.evaluation.metrics import HEADLINE_NAMES, ranked
from xnet.files import atomic_write
from xnet.runs.overrides import read_overrides, varying_overrides

log = logging.getLogger(__name__)


def sweep_jobs(sweep_dir: Path) -> list[tuple[Path, dict[str, str]]]:
    """(metrics.json, the job's overrides that vary across the sweep) per finished job: the
    constant overrides (data=..., cv.folds=...) are the same for every row and say nothing."""
    files = sorted(sweep_dir.glob("*/metrics.json"))
    varying = varying_overrides([read_overrides(f.parent) for f in files])
    return list(zip(files, varying))


def collect_sweep(sweep_dir: Path, sort_by: str = "balanced_accuracy") -> list[dict]:
    """One row per finished job (CV jobs report their fold means), best first by `sort_by`, whose
    columns come first; `overrides` holds only those that vary between jobs."""
    rows = []
    for metrics_file, varying in sweep_jobs(sweep_dir):
        job = metrics_file.parent
        payload = json.loads(metrics_file.read_text())
        source = payload.get("mean", payload)
        row = {"job": job.name, "overrides": " ".join(f"{k}={v}" for k, v in varying.items())}
        for key in ranked(sort_by):
            row[key] = round(float(source[key]), DECIMALS)
            if "std" in payload:
                row[f"{key}_std"] = round(float(payload["std"][key]), DECIMALS)
        rows.append(row)
    rows.sort(key=lambda r: -r.get(sort_by, 0.0))
    return rows


#: decimals of every metric in summary.csv and the printed table
DECIMALS = 4


def cell(value) -> str:
    """A table cell: metrics with `DECIMALS` decimals, text as it is."""
    return f"{value:.{DECIMALS}f}" if isinstance(value, float) else str(value)


def write_summary(sweep_dir: Path, rows: list[dict]) -> Path:
    """summary.csv, written whole or not at all (its presence says the sweep finished)."""
    fields = list(dict.fromkeys(k for r in rows for k in r))

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(fields)
            writer.writerows([[cell(r.get(f, "")) for f in fields] for r in rows])

    return atomic_write(sweep_dir / "summary.csv", write)


def format_table(rows: list[dict]) -> str:
    """The summary as aligned text: numbers right-aligned with the same decimals, long floats in
    the overrides (an Optuna trial's) shortened, no trailing spaces."""
    from xnet.runs.job_logs import short_floats

    if not rows:
        return "(no finished jobs)"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    table = [[short_floats(cell(r.get(f, ""))) for f in fields] for r in rows]
    widths = [max(len(f), *(len(line[i]) for line in table)) for i, f in enumerate(fields)]
    numeric = [all(isinstance(r.get(f), float) for r in rows) for f in fields]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if right else c.ljust(w) for c, w, right in zip(cells, widths, numeric)
        ).rstrip()

    return "\n".join([line(fields), *(line(cells) for cells in table)])


#: where each part's metrics live in a job's metrics.json: CV fold means first, then one split's
METRIC_SOURCES = {
    "train": ("mean.train", "train_mean", "train"),
    "validation": ("mean.val", "val_mean", "val"),
    "test": ("mean", ""),
}


def job_metric(payload: dict, kind: str, metric: str = "balanced_accuracy") -> float:
    """A headline metric of one job's train, validation or test part (fold mean under CV); NaN
    where not recorded."""
    for dotted in METRIC_SOURCES[kind]:
        block = payload
        for part in filter(None, dotted.split(".")):
            block = block.get(part) if isinstance(block, dict) else None
        if isinstance(block, dict) and metric in block:
            return float(block[metric])
    return float("nan")


def collect_widths(sweep_dir: Path, metric: str = "balanced_accuracy") -> list[dict]:
    """Per finished job: `model.hidden` from its composed config, its other varying overrides, and
    `metric` on its train, validation and test parts."""
    jobs = []
    for metrics_file, varying in sweep_jobs(sweep_dir):
        config_file = metrics_file.parent / ".hydra" / "config.yaml"
        if not config_file.exists():
            continue
        hidden = OmegaConf.select(OmegaConf.load(config_file), "model.hidden")
        if hidden is None:
            continue
        rest = " ".join(f"{k}={v}" for k, v in varying.items() if k != "model.hidden")
        payload = json.loads(metrics_file.read_text())
        jobs.append(
            {
                "hidden": int(hidden),
                "rest": rest,
                **{k: job_metric(payload, k, metric) for k in METRIC_SOURCES},
            }
        )
    return jobs


def write_width_figure(
    sweep_dir: Path, jobs: list[dict] | None = None, metric: str = "balanced_accuracy"
) -> Path | None:
    """`accuracy_vs_width.png`: the sweep's ranking metric (`optimized_metric`) on the train,
    validation and test parts against `model.hidden` (log axis), as the study chose its 30
    neurons; one colour per combination of the other varying overrides (`model.depth=2`), one
    line style per part. Written only when the sweep tried at least two widths."""
    from xnet.plotting.draw import plt
    from xnet.plotting.sweep import accuracy_vs_width_figure

    jobs = collect_widths(sweep_dir, metric) if jobs is None else jobs
    if len({j["hidden"] for j in jobs}) < 2:
        return None
    groups: dict[str, list[dict]] = {}
    for job in jobs:
        groups.setdefault(job["rest"], []).append(job)
    widths = sorted({j["hidden"] for j in jobs})
    curves = {}
    for rest, members in groups.items():
        by_width = {j["hidden"]: j for j in members}
        for kind in METRIC_SOURCES:
            values = [by_width[w][kind] if w in by_width else float("nan") for w in widths]
            curves[(rest, kind)] = values
    if all(np.isnan(j["train"]) for j in jobs):
        log.warning(
            "sweep jobs record no training %s (metrics.json 'train'/'train_mean'): figure "
            "without it",
            HEADLINE_NAMES[metric],
        )
    name = HEADLINE_NAMES[metric]
    fig = accuracy_vs_width_figure(
        widths, curves, ylabel=name, title=f"{name} against neurons per hidden layer"
    )
    path = sweep_dir / "accuracy_vs_width.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = collect_sweep(sweep_dir, sort_by=str(config.optimized_metric))
        if not rows:
            return
        metric = str(config.optimized_metric)
        path = write_summary(sweep_dir, rows)
        print(f"\nSweep summary ({path}), best {HEADLINE_NAMES[metric]} first:")
        print(format_table(rows))
        figure = write_width_figure(sweep_dir, metric=metric)
        if figure is not None:
            print(f"{HEADLINE_NAMES[metric].capitalize()} against width: {figure}")
        print(f"TensorBoard: tensorboard --logdir {sweep_dir / 'tensorboard'}")
