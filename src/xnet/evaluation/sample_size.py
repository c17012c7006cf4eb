"""How many sources stand behind each number of a run: the support next to per-class metrics
(log lines, fold means) and the small-sample warnings of metrics.json (`warnings`).

Thresholds: `report.min_support` (a reported class with fewer test or validation sources) and
`report.min_sources` (fewer labelled sources left after filters, `features.drop_missing` and the
class selection) in conf/train.yaml.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # xnet.predict imports this module for its warnings, without the training stack
    from omegaconf import DictConfig

    from xnet.data.labelled import LabelledSet
    from xnet.evaluation.results import SplitBlock

log = logging.getLogger("xnet.train")

DEFAULTS = {"min_support": 10, "min_sources": 200}


def thresholds(cfg: DictConfig) -> dict[str, int]:
    report = cfg.get("report") or {}
    return {key: int(report.get(key, value)) for key, value in DEFAULTS.items()}


def log_per_class(report: dict, title: str) -> None:
    """One line per class: precision, recall, F1 and the support (n) they rest on."""
    log.info("%s per class (n = test sources):", title)
    for cls, row in report["per_class"].items():
        log.info(
            "  %-10s precision %.3f  recall %.3f  f1 %.3f  n=%d",
            cls,
            row["precision"],
            row["recall"],
            row["f1"],
            row["support"],
        )


def fold_support(blocks: Sequence[SplitBlock]) -> dict:
    """For the mean/std blocks of a CV run: the test size and per-class test support of each fold
    (the n behind each fold's headline metrics and per-class recall)."""
    classes = list(blocks[0].test["per_class"])
    return {
        "n_test": [int(b.n_test) for b in blocks],
        "support": {c: [int(b.test["per_class"][c]["support"]) for b in blocks] for c in classes},
    }


def _counts(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


PARTS = {
    "test": ("test", "its test precision, recall and F1"),
    "val": ("validation", "its val/acc_<class> curve"),
}


def small_class_warnings(
    tests: Sequence[dict],
    min_support: int,
    parts: Sequence[str] = ("test", "val"),
    vals: Sequence[dict] = (),
) -> list[str]:
    """A reported class with fewer than `min_support` test (or validation) sources in a split;
    `tests`: the splits' test classification reports, `vals`: their validation blocks (`support`
    per class) for part "val"."""
    out = []
    per_fold = len(tests) > 1
    for part in parts:
        name, where = PARTS[part]
        for cls in tests[0]["per_class"]:
            counts = [
                int(b["per_class"][cls]["support"]) if part == "test" else int(v["support"][cls])
                for b, v in zip(tests, vals if part == "val" else tests)
            ]
            if min(counts) >= min_support:
                continue
            n = (
                f"{_counts(counts)} {name} sources per fold (total {sum(counts)})"
                if per_fold
                else f"{counts[0]} {name} sources"
            )
            out.append(
                f"small sample: class {cls} has {n}, fewer than report.min_support={min_support}; "
                f"{where.replace('<class>', cls)} rest{'s' if part == 'val' else ''} on them"
            )
    return out


def sample_warnings(data: LabelledSet, blocks: Sequence[SplitBlock], cfg: DictConfig) -> list[str]:
    """Every small-sample condition of a run, each as one line (also logged as a warning)."""
    limits = thresholds(cfg)
    out = []
    n, n_catalog = len(data.y), len(data.catalog.frame)
    all_classes = data.catalog.classes
    if n < limits["min_sources"]:
        why = []
        if data.spec.drop_missing:
            why.append("features.drop_missing=true keeps only sources with every feature")
        if n < n_catalog and not why:
            why.append("classes with fewer than split.min_class_count sources left out")
        out.append(
            f"small sample: {n} of the catalog's {n_catalog} labelled sources remain, "
            f"in {len(data.classes)} classes "
            f"({', '.join(data.classes)}), fewer than report.min_sources={limits['min_sources']}"
            + (f" ({'; '.join(why)})" if why else "")
            + "; every metric rests on them"
        )
    left_out = [c for c in all_classes if c not in data.classes]
    if left_out:
        out.append(
            f"classes left out: {len(data.classes)} of the catalog's {len(all_classes)} "
            "classes remain "
            f"({', '.join(data.classes)}); not classified: {', '.join(left_out)}"
        )
    out += small_class_warnings(
        [b.test for b in blocks], limits["min_support"], vals=[b.val for b in blocks]
    )
    for line in out:
        log.warning("%s", line)
    return out
