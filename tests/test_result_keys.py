"""metrics.json keys (in their written order) and TensorBoard tags of short runs, against the
lists written from a real run of `main` before evaluation's results became dataclasses
(tests/result_keys.json; `python tests/test_result_keys.py` rewrites it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from xnet.api import train

EXPECTED = Path(__file__).with_name("result_keys.json")

#: a holdout run with TensorBoard, and a 2-fold CV of 2-network ensembles (inner_validation,
#: per-fold summaries); the slow pair adds the figures and a tree member (every optional block)
RUNS = {
    "holdout_plain": ["trainer.max_epochs=3", "figures.enabled=false"],
    "cv_plain": [
        "trainer.max_epochs=3",
        "cv.folds=2",
        "ensemble.members=2",
        "figures.enabled=false",
        "logger=none",
    ],
    "holdout": ["trainer.max_epochs=3"],
    "cv": [
        "trainer.max_epochs=3",
        "cv.folds=2",
        "ensemble.members=2",
        "ensemble.trees=0.5",
        "figures.enabled=false",
        "logger=none",
    ],
}
SLOW = {"holdout", "cv"}  # figures (~7 s of CPU) and trees (~2 s)


def key_paths(value, path: str = "") -> list[str]:
    """Every key of a JSON value as a dotted path in first-seen order (list items as `[]`)."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            out += [here, *key_paths(item, here)]
    elif isinstance(value, list):
        for item in value:
            out += key_paths(item, f"{path}[]")
    return list(dict.fromkeys(out))


def board_tags(folder: Path) -> dict[str, list[str]]:
    events = EventAccumulator(str(folder), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    return {kind: sorted(tags) for kind, tags in events.Tags().items() if isinstance(tags, list)}


def observed(run: Path, overrides: list[str]) -> dict:
    out = {"metrics.json": key_paths(train(overrides, run))}
    out["files"] = sorted(p.name for p in run.iterdir() if p.name != ".hydra")
    if (run / "tensorboard").exists():
        out["tensorboard"] = board_tags(run / "tensorboard")
        out["tensorboard/members/holdout"] = board_tags(run / "tensorboard" / "members" / "holdout")
    return out


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in RUNS]
)
def test_metrics_json_keys_and_board_tags_are_unchanged(tmp_path, name):
    expected = json.loads(EXPECTED.read_text())[name]
    got = observed(tmp_path / name, RUNS[name])
    assert set(got) == set(expected)
    for part, value in expected.items():
        assert sorted(got[part]) == sorted(value), part  # the same keys (tags, files)
        assert in_order(got[part]) == in_order(value), part  # ... in the order written


def in_order(paths) -> list:
    """The paths whose first-seen order is fixed by the code: a coverage curve's recall lists the
    classes present among the kept sources, so which class appears first depends on the model's
    ranking (floats)."""
    return [p for p in paths if "curve[].recall." not in p] if isinstance(paths, list) else paths


if __name__ == "__main__":  # rewrite the expected lists (only from a commit whose output is right)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = {name: observed(Path(tmp) / name, overrides) for name, overrides in RUNS.items()}
    EXPECTED.write_text(json.dumps(found, indent=1) + "\n")
    sys.exit(0)
