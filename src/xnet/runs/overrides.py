"""A sweep's overrides: which vary between its jobs (names of TensorBoard runs, summary columns,
figure legends). Light: no torch, no Lightning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf


def override_pairs(overrides: Sequence[str]) -> dict[str, str]:
    """`["model.hidden=30", "+x=1"]` as {"model.hidden": "30", "x": "1"} (key without its +/~
    prefix)."""
    pairs = {}
    for item in overrides:
        key, sep, value = str(item).partition("=")
        if sep:
            pairs[key.lstrip("+~")] = value
    return pairs


def read_overrides(run_dir: Path) -> dict[str, str]:
    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    return override_pairs(OmegaConf.load(path)) if path.exists() else {}


def varying_overrides(
    per_job: Sequence[dict[str, str]], always: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Per job, only the overrides whose value differs between jobs (or whose key is in `always`,
    such as a search's parameters), in first-seen order. A key a job does not set reads
    `default`."""
    keys = list(dict.fromkeys(k for pairs in per_job for k in pairs))
    varying = [
        k for k in keys if k in always or len({pairs.get(k, "default") for pairs in per_job}) > 1
    ]
    return [{k: pairs.get(k, "default") for k in varying} for pairs in per_job]


def run_name(varying: dict[str, str]) -> str:
    """`{"model.hidden": "30", "model.depth": "2"}` as `hidden=30,depth=2` (full keys where the
    last parts would clash, long floats to 4 significant digits); safe as one folder name."""
    from xnet.runs.job_logs import short_floats

    short = [k.split(".")[-1].split("/")[-1] for k in varying]
    keys = short if len(set(short)) == len(short) else list(varying)
    text = ",".join(f"{k}={v}" for k, v in zip(keys, varying.values())).replace("/", "_")
    return short_floats(text)  # an Optuna trial's dropout=0.027701578430639338 as 0.0277
