"""Issue 15: every number in metrics.json says how many sources it rests on, and small samples
are named in `warnings` (and in the log)."""

import logging
import re
from pathlib import Path

from conftest import FAST

from xnet.api import train

REPO = Path(__file__).resolve().parents[1]


def test_drop_missing_warns_how_many_sources_and_classes_remain(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        metrics = train([*FAST, "features.drop_missing=true"], tmp_path / "run")
    n = len(metrics["classes"])
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] < 200 and n == 2
    remain = [w for w in metrics["warnings"] if "labelled sources remain" in w]
    assert (
        len(remain) == 1
        and f"in {n} classes" in remain[0]
        and "features.drop_missing=true" in remain[0]
    )
    assert str(metrics["n_train"] + metrics["n_val"] + metrics["n_test"]) in remain[0]
    # every per-class number carries its support, every headline block its size
    assert sum(row["support"] for row in metrics["per_class"].values()) == metrics["n_test"]
    assert sum(metrics["val"]["support"].values()) == metrics["val"]["n_val"] == metrics["n_val"]
    assert (
        sum(metrics["train"]["support"].values())
        == metrics["train"]["n_train"]
        == metrics["n_train"]
    )
    # each class under report.min_support (10) test or validation sources is named with its count
    for cls, row in metrics["per_class"].items():
        named = [
            w for w in metrics["warnings"] if f"class {cls} has {row['support']} test sources" in w
        ]
        assert bool(named) == (row["support"] < 10)
        n_val = metrics["val"]["support"][cls]
        assert any(
            f"class {cls} has {n_val} validation sources" in w for w in metrics["warnings"]
        ) == (n_val < 10)
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert all(w in logged for w in metrics["warnings"])
    assert any(
        re.search(rf"^\s+{cls}\s.*n={row['support']}$", r.getMessage())
        for r in caplog.records
        for cls, row in metrics["per_class"].items()
    )


def test_cv_blocks_carry_support_and_fold_sizes(tmp_path):
    metrics = train(
        [*FAST, "data=csc_muwclass", "cv.folds=2", "report.min_support=5"], tmp_path / "cv"
    )
    folds = metrics["folds"]
    for part in ("mean", "std"):
        assert metrics[part]["n_test"] == [f["n_test"] for f in folds]
        for cls in metrics["classes"]:
            assert metrics[part]["support"][cls] == [f["per_class"][cls]["support"] for f in folds]
    assert sum(metrics["mean"]["n_test"]) == metrics["n_test"]
    for cls in metrics["classes"]:
        assert metrics["mean"]["val"]["support"][cls] == [f["val"]["support"][cls] for f in folds]
        fewest = min(f["val"]["support"][cls] for f in folds)
        assert any(
            w.startswith(f"small sample: class {cls} has") and "validation sources per fold" in w
            for w in metrics["warnings"]
        ) == (fewest < 5)
    assert metrics["mean"]["val"]["n_val"] == [f["n_val"] for f in folds]


def test_conf_and_src_cite_only_files_in_the_repository():
    """References such as `see MISSION.md` must name a file of the repository (or a public
    source)."""
    names = {p.name for p in REPO.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts}
    for path in [*REPO.joinpath("conf").rglob("*.yaml"), *REPO.joinpath("src").rglob("*.py")]:
        for cited in re.findall(r"\b([\w.-]+\.(?:md|txt|rst))\b", path.read_text()):
            assert cited in names, (
                f"{path.relative_to(REPO)} cites {cited}, which is not in the repository"
            )
