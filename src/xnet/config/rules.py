"""The one table of range rules: the type and range of every number (and the choices of every
word) a user may set, per entry config (`RULES`), with the one-line wording of a refusal. The
structured configs (`xnet.config.structured`) give the keys and their types; this table adds the
ranges. Checked by `xnet.config.schema` on the command line (each value of a sweep too) and on the
composed config, both before any work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """A value's type ('int', 'float', 'bool' or 'choice') and allowed range."""

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself not allowed
    high_open: bool = False
    choices: tuple = ()
    nullable: bool = False
    also: tuple = ()  # other allowed literal values (`auto`, 0 for "off")

    def describe(self) -> str:
        if self.kind == "choice":
            text = "one of " + ", ".join(map(str, self.choices))
        elif self.kind == "bool":
            text = "true or false"
        else:
            text = "an integer" if self.kind == "int" else "a number"
            if self.low is not None and self.high is not None:
                left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
                text += f" in {left}{_num(self.low)}, {_num(self.high)}{right}"
            elif self.low is not None:
                text += f" {'>' if self.low_open else '>='} {_num(self.low)}"
        extra = [str(a) for a in self.also] + (["null"] if self.nullable else [])
        return text + (f" (or {', '.join(extra)})" if extra else "")

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if value in self.also and not isinstance(value, bool):
            return True
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "choice":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not isinstance(value, int):
            return False
        if value != value or value in (float("inf"), float("-inf")):  # NaN, inf
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def Int(low=None, high=None, **kw) -> Rule:  # noqa: N802 (reads as a type)
    return Rule("int", low, high, **kw)


def Float(low=None, high=None, **kw) -> Rule:  # noqa: N802
    return Rule("float", low, high, **kw)


BOOL = Rule("bool")
#: `coverage.confidence`: how sources are ranked (xnet.evaluation.coverage; checked here,
#: torch-free)
CONFIDENCE_KINDS = ("probability", "decision", "lower_bound")
SHARE = Float(0, 1, low_open=True, high_open=True)
#: `early_stopping.monitor`: what early stopping watches (xnet.models.early_stopping)
MONITORS = ("val/loss", "val/accuracy", "val/balanced_accuracy", "val/macro_f1")

#: type and range of every number a user may set, per entry config
RULES: dict[str, dict[str, Rule]] = {
    "train": {
        "seed": Int(0),
        "model.hidden": Int(1),
        "model.depth": Int(1),
        "model.dropout": Float(0, 1, high_open=True),
        "model.lr": Float(0, low_open=True),
        "model.beta1": Float(0, 1, high_open=True),
        "model.beta2": Float(0, 1, high_open=True),
        "model.eps": Float(0, low_open=True),
        "model.l2_alpha": Float(0),
        "model.batch_size": Int(1),
        "model.class_weighted": BOOL,
        "model.num_threads": Int(1, also=("auto",)),
        "engine": Rule("choice", choices=("auto", "stacked", "plain")),
        "trainer.max_epochs": Int(1),
        "split.test_size": SHARE,
        "split.val_size": SHARE,
        "split.min_class_count": Int(2),
        "cv.folds": Int(2, also=(0,)),
        "ensemble.members": Int(1),
        "ensemble.trees": Float(0, 1),
        "decision.prior_power": Float(0),
        "calibration.enabled": BOOL,
        "calibration.n_bins": Int(1),
        "calibration.min_gain_se": Float(0),
        "figures.enabled": BOOL,
        "importance.enabled": BOOL,
        "early_stopping.patience": Int(0),
        "early_stopping.mode": Rule("choice", choices=("min", "max")),
        "early_stopping.monitor": Rule("choice", choices=MONITORS),
        "early_stopping.min_delta": Float(0),
        "progress": Rule("bool", also=("auto",)),
        "features.drop_missing": BOOL,
        "resample.name": Rule("choice", choices=("none", "smote", "smote_under"), nullable=True),
        "resample.k_neighbors": Int(1),
        "resample.error_copies": Int(0),
        "resample.error_scale": Float(0),
        "resample.reddened_agn_copies": Int(0),
        "batching.enabled": BOOL,
        "batching.log_every_n_epochs": Int(1),
        "batching.max_width_ratio": Float(1),
        "batching.retire": BOOL,
        "overwrite": BOOL,
        "figures.cache": BOOL,
        "coverage.confidence": Rule("choice", choices=CONFIDENCE_KINDS),
        "cv.scheme": Rule("choice", choices=("stratified", "faint", "sky")),
        "cv.faint_fraction": SHARE,
        "cv.sky_cell_deg": Float(0, 180, low_open=True),
        "report.min_support": Int(0),
        "report.min_sources": Int(0),
        "data.extreme_values.action": Rule("choice", choices=("warn", "error", "clip", "missing")),
        "data.extreme_values.max_abs": Float(0, low_open=True),
        # light curves (xnet.data.lightcurves; docs/lightcurves.md)
        "data.lightcurves.format": Rule("choice", choices=("xmm", "csc", "table")),
        "data.lightcurves.duplicates": Rule("choice", choices=("error", "longest")),
        "data.lightcurves.unmatched": Rule("choice", choices=("error", "ignore")),
        "data.lightcurves.binning.mode": Rule("choice", choices=("fixed_length", "fixed_width")),
        "data.lightcurves.binning.normalise": Rule(
            "choice", choices=("mean", "zscore", "log", "none")
        ),
        "data.lightcurves.binning.bins": Int(4),
        "data.lightcurves.binning.bin_seconds": Float(0, low_open=True, nullable=True),
        "data.lightcurves.binning.min_exposure": Float(0, 1),
        "data.lightcurves.binning.clip": Float(0),
        "data.lightcurves.timing.flare_sigma": Float(0, low_open=True),
        "data.lightcurves.timing.flare_min_bins": Int(1),
        "data.lightcurves.timing.samples_per_peak": Int(1),
        "data.lightcurves.timing.min_bins": Int(3),
    },
    "predict": {
        "overwrite": BOOL,
        "chunk_size": Int(1),
        "batch_size": Int(1),
        "num_threads": Int(1),
        "workers": Int(1, also=("auto",)),
        "progress": Rule("bool", also=("auto",)),
        "explain": Int(0),
        "flags.missing_below": Float(0, 1, nullable=True),
        "flags.range_margin": Float(0, nullable=True),
        "flags.max_sum_flag": Float(nullable=True),
        "flags.max_extent": Float(0, nullable=True),
    },
}


def show(value: Any) -> str:
    """A value as the command line writes it (`null`, `true`; `0` for a whole number that the
    schema's float type made 0.0)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return _num(value)
    return str(value)
