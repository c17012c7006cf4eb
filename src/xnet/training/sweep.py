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

from xnet.files import atomic_write
from xnet.training.metrics import HEADLINE
from xnet.training.overrides import read_overrides, varying_overrides

log = logging.getLogger(__name__)


def sweep_jobs(sweep_dir: Path) -> list[tuple[Path, dict[str, str]]]:
    """(metrics.json, the job's overrides that vary across the sweep) per finished job: the
    constant overrides (data=..., cv.folds=...) are the same for every row and say nothing."""
    files = sorted(sweep_dir.glob("*/metrics.json"))
    varying = varying_overrides([read_overrides(f.parent) for f in files])
    return list(zip(files, varying))


def collect_sweep(sweep_dir: Path, sort_by: str = "balanced_accuracy") -> list[dict]:
    """One row per finished job (CV jobs report their fold means), best first; `overrides` holds
    only those that vary between jobs."""
    rows = []
    for metrics_file, varying in sweep_jobs(sweep_dir):
        job = metrics_file.parent
        payload = json.loads(metrics_file.read_text())
        source = payload.get("mean", payload)
        row = {"job": job.name, "overrides": " ".join(f"{k}={v}" for k, v in varying.items())}
        for key in HEADLINE:
            row[key] = round(float(source[key]), 4)
            if "std" in payload:
                row[f"{key}_std"] = round(float(payload["std"][key]), 4)
        rows.append(row)
    rows.sort(key=lambda r: -r.get(sort_by, 0.0))
    return rows


def write_summary(sweep_dir: Path, rows: list[dict]) -> Path:
    """summary.csv, written whole or not at all (its presence says the sweep finished)."""
    fields = list(dict.fromkeys(k for r in rows for k in r))

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(sweep_dir / "summary.csv", write)


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(no finished jobs)"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    widths = {f: max(len(f), *(len(str(r.get(f, ""))) for r in rows)) for f in fields}
    lines = ["  ".join(f.ljust(widths[f]) for f in fields)]
    lines += ["  ".join(str(r.get(f, "")).ljust(widths[f]) for f in fields) for r in rows]
    return "\n".join(lines)


#: where each accuracy lives in a job's metrics.json: CV fold means first, then the one split's
ACCURACY_SOURCES = {
    "train": ("mean.train", "train_mean", "train"),
    "validation": ("mean.val", "val_mean", "val"),
    "test": ("mean", ""),
}


def job_accuracy(payload: dict, kind: str) -> float:
    """Train, validation or test accuracy of one job (fold mean under CV); NaN where not recorded."""
    for dotted in ACCURACY_SOURCES[kind]:
        block = payload
        for part in filter(None, dotted.split(".")):
            block = block.get(part) if isinstance(block, dict) else None
        if isinstance(block, dict) and "accuracy" in block:
            return float(block["accuracy"])
    return float("nan")


def collect_widths(sweep_dir: Path) -> list[dict]:
    """Per finished job: `model.hidden` from its composed config, its other varying overrides, and
    its train, validation and test accuracy."""
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
                **{k: job_accuracy(payload, k) for k in ACCURACY_SOURCES},
            }
        )
    return jobs


def write_width_figure(sweep_dir: Path, jobs: list[dict] | None = None) -> Path | None:
    """`accuracy_vs_width.png`: train, validation and test accuracy against `model.hidden` (log
    axis), as the study chose its 30 neurons; one set of curves per combination of the other
    overrides. Written only when the sweep tried at least two widths."""
    from xnet.plotting.draw import accuracy_vs_width_figure, plt

    jobs = collect_widths(sweep_dir) if jobs is None else jobs
    if len({j["hidden"] for j in jobs}) < 2:
        return None
    groups: dict[str, list[dict]] = {}
    for job in jobs:
        groups.setdefault(job["rest"], []).append(job)
    widths = sorted({j["hidden"] for j in jobs})
    curves = {}
    for rest, members in groups.items():
        by_width = {j["hidden"]: j for j in members}
        for kind in ACCURACY_SOURCES:
            label = f"{kind} ({rest})" if len(groups) > 1 and rest else kind
            curves[label] = [by_width[w][kind] if w in by_width else float("nan") for w in widths]
    missing_train = all(np.isnan(j["train"]) for j in jobs)
    if missing_train:
        log.warning(
            "sweep jobs record no training accuracy (metrics.json 'train'/'train_mean'): figure without it"
        )
    fig = accuracy_vs_width_figure(
        widths, curves, title="accuracy against neurons per hidden layer"
    )
    path = sweep_dir / "accuracy_vs_width.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = collect_sweep(
            sweep_dir, sort_by=str(config.get("optimized_metric", "balanced_accuracy"))
        )
        if not rows:
            return
        path = write_summary(sweep_dir, rows)
        print(f"\nSweep summary ({path}), best first:\n{format_table(rows)}")
        figure = write_width_figure(sweep_dir)
        if figure is not None:
            print(f"Accuracy against width: {figure}")
