"""Hydra callback: after a multirun, one table of every job's overrides and headline metrics."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from xnet.metrics import HEADLINE

log = logging.getLogger(__name__)


def collect_sweep(sweep_dir: Path, sort_by: str = "balanced_accuracy") -> list[dict]:
    """One row per finished job (CV jobs report their fold means), best first."""
    rows = []
    for metrics_file in sorted(sweep_dir.glob("*/metrics.json")):
        job = metrics_file.parent
        payload = json.loads(metrics_file.read_text())
        source = payload.get("mean", payload)
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = OmegaConf.load(overrides_file) if overrides_file.exists() else []
        row = {"job": job.name, "overrides": " ".join(str(o) for o in overrides)}
        for key in HEADLINE:
            row[key] = round(float(source[key]), 4)
            if "std" in payload:
                row[f"{key}_std"] = round(float(payload["std"][key]), 4)
        rows.append(row)
    rows.sort(key=lambda r: -r.get(sort_by, 0.0))
    return rows


def write_summary(sweep_dir: Path, rows: list[dict]) -> Path:
    path = sweep_dir / "summary.csv"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "(no finished jobs)"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    widths = {f: max(len(f), *(len(str(r.get(f, ""))) for r in rows)) for f in fields}
    lines = ["  ".join(f.ljust(widths[f]) for f in fields)]
    lines += ["  ".join(str(r.get(f, "")).ljust(widths[f]) for f in fields) for r in rows]
    return "\n".join(lines)


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = collect_sweep(sweep_dir, sort_by=str(config.get("optimized_metric", "balanced_accuracy")))
        if not rows:
            return
        path = write_summary(sweep_dir, rows)
        print(f"\nSweep summary ({path}), best first:\n{format_table(rows)}")
