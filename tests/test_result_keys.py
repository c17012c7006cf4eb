"""metrics.json keys (in their written order) and TensorBoard tags of two short runs, against the
lists written from a real run of `main` before evaluation's results became dataclasses
(tests/result_keys.json; `python tests/test_result_keys.py` rewrites it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from xnet.api import train

EXPECTED = Path(__file__).with_name("result_keys.json")

#: a holdout run with figures and TensorBoard; a 2-fold CV of 2-network ensembles with a tree
#: member (every optional block of metrics.json: inner_validation, trees, per-fold summaries)
RUNS = {
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


def observed(tmp_path: Path) -> dict:
    out = {}
    for name, overrides in RUNS.items():
        run = tmp_path / name
        out[name] = {"metrics.json": key_paths(train(overrides, run))}
        out[name]["files"] = sorted(p.name for p in run.iterdir() if p.name != ".hydra")
        if (run / "tensorboard").exists():
            out[name]["tensorboard"] = board_tags(run / "tensorboard")
            out[name]["tensorboard/members/holdout"] = board_tags(
                run / "tensorboard" / "members" / "holdout"
            )
    return out


def test_metrics_json_keys_and_board_tags_are_unchanged(tmp_path):
    expected = json.loads(EXPECTED.read_text())
    got = observed(tmp_path)
    for name in RUNS:
        for part, value in expected[name].items():
            assert got[name][part] == value, (name, part)


if __name__ == "__main__":  # rewrite the expected lists (only from a commit whose output is right)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        EXPECTED.write_text(json.dumps(observed(Path(tmp)), indent=1) + "\n")
    sys.exit(0)
