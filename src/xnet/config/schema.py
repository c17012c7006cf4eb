"""The one config schema: which keys exist, and the type and range of every number a user may set.

Two checks, both before any work starts, both one line naming the key:
- `check_override_keys(argv, ...)`: every `key=value`, `+key=value` or `~key` on the command line
  names a key the config files define (conf/ and any --config-dir), else "did you mean <closest
  key>" (difflib); Hydra's own `+` advice would silently add a key nothing reads.
- `validate_config(cfg, name)`: the composed config's values against `RULES` (type and range).

Keys are read from the YAML files themselves, so a key added to a config file is known at once;
`RULES` lists the values that have a type and range. Maps whose entries are free (a data config's
`columns`, loggers, callbacks, ...) are `OPEN`; `trainer` is closed by `xnet.config.trainer_args`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xnet.errors import XnetError
from xnet.config.trainer_args import check_trainer_override

#: maps whose sub-keys are free: entries a user adds (`+data.columns.my_col=COL`) are not typos
OPEN = (
    "data.columns",
    "data.filters",
    "data.label_map",
    "data.inputs",
    "model.encoders",
    "trainer",  # closed by lightning.Trainer's arguments (xnet.config.trainer_args)
    "logger",
    "callbacks",
    "resample.targets",
    "hydra",
)
#: command-line options that take the next argument as their value
_OPTION_ARGS = {
    "--config-dir",
    "-cd",
    "--config-name",
    "-cn",
    "--config-path",
    "-cp",
    "--info",
    "-i",
    "--package",
    "-p",
    "--experimental-rerun",
}


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
#: `coverage.confidence`: how sources are ranked (xnet.evaluation.coverage; checked here, torch-free)
CONFIDENCE_KINDS = ("probability", "decision", "lower_bound")
SHARE = Float(0, 1, low_open=True, high_open=True)

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


def validate_config(cfg, name: str) -> None:
    """Every value `RULES[name]` names, checked in the composed config: one line naming the key,
    the value and what is allowed."""
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(cfg, DictConfig):  # a plain mapping (the Python API, tests)
        cfg = OmegaConf.create(dict(cfg))
    for key, rule in RULES[name].items():
        value = OmegaConf.select(cfg, key, default="<absent>", throw_on_missing=False)
        if value == "<absent>":
            continue
        if not rule.accepts(value):
            raise XnetError(f"{key}={_show(value)}: must be {rule.describe()}")


def _show(value: Any) -> str:
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


# ----------------------------------------------------------------------------------- known keys


def _flat(node: Any, prefix: str) -> Iterable[str]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "defaults":
                yield from _flat(value, f"{prefix}.{key}" if prefix else str(key))


def _load(path: Path) -> tuple[dict, bool]:
    """A YAML file's content and whether it is `# @package _global_`."""
    import yaml

    text = path.read_text(errors="replace")
    try:
        content = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        content = {}
    is_global = any("@package _global_" in line for line in text.splitlines()[:3])
    return (content if isinstance(content, dict) else {}), is_global


def known_keys(config_name: str, dirs: Sequence[Path]) -> set[str]:
    """Every key the entry config and the groups in its defaults list define (all options)."""
    keys: set[str] = set()
    groups: set[str] = set()
    for d in dirs:
        primary = d / f"{config_name}.yaml"
        if not primary.exists():
            continue
        content, _ = _load(primary)
        keys.update(_flat(content, ""))
        for entry in content.get("defaults", []) or []:
            if isinstance(entry, dict):
                for group in entry:
                    groups.add(str(group).replace("override ", "").strip().split("/")[0])
    for d in dirs:
        for group in groups:
            for path in sorted((d / group).glob("*.yaml")) if (d / group).is_dir() else []:
                content, is_global = _load(path)
                keys.add(group)
                keys.update(_flat(content, "" if is_global else group))
    return keys


def _config_dirs(argv: Sequence[str], config_dir: Path) -> list[Path]:
    dirs = [Path(config_dir)]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.split("=", 1)[1]))
    return dirs


def override_args(argv: Sequence[str]) -> list[str]:
    """The `key=value`, `+key=value`, `++key=value` and `~key` arguments (not options)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _OPTION_ARGS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        if "=" in arg or arg.startswith("~"):
            out.append(arg)
    return out


def override_keys(argv: Sequence[str]) -> list[str]:
    """The config keys that `key=value`, `+key=value`, `++key=value` and `~key` arguments name."""
    return [key for _, key in prefixed_keys(argv)]


def prefixed_keys(argv: Sequence[str]) -> list[tuple[str, str]]:
    """(prefix: '', '+', '++' or '~'; key) of each override argument."""
    names = [arg.partition("=")[0] for arg in override_args(argv)]
    return [
        (n[: len(n) - len(n.lstrip("+~"))], n.lstrip("+~").split("@")[0].strip()) for n in names
    ]


def override_values(arg: str) -> list[Any]:
    """The values one override gives its key, as Hydra parses them: one, every value of a sweep
    (`10,ten`, `range(1,4)`, Optuna's `choice(...)`), or an interval's ends; none where Hydra
    cannot parse it (Hydra's own error then says why)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        override = OverridesParser.create().parse_override(arg)
        if not override.is_sweep_override():
            return [override.value()]
        if override.is_interval_sweep():
            return [override.value().start, override.value().end]
        return list(override.sweep_iterator())
    except Exception:  # noqa: BLE001 (Hydra's parse and sweep errors: Hydra reports them)
        return []


def check_sweep_values(argv: Sequence[str], config_name: str) -> None:
    """Every value the command line gives a key of `RULES` (each value of a sweep too) against
    its rule, before any run or sweep folder exists: `-m model.hidden=10,ten` fails at once."""
    rules = RULES[config_name]
    for arg in override_args(argv):
        key = arg.partition("=")[0].lstrip("+~").strip()
        if key not in rules or arg.startswith("~"):
            continue
        for value in override_values(arg):
            if not rules[key].accepts(value):
                raise XnetError(f"{key}={_show(value)}: must be {rules[key].describe()}")


def check_override_keys(argv: Sequence[str], config_name: str, config_dir: Path) -> None:
    """Refuse a command-line key that no config file defines, naming the closest real key."""
    keys = None
    overrides = prefixed_keys(argv)
    # a model plugged in by `model._target_` takes keys of its own (checked against its signature)
    plugged = any(key == "model._target_" and prefix != "~" for prefix, key in overrides)
    for prefix, key in overrides:
        if not key or "/" in key or key == "hydra" or key.startswith("hydra."):
            continue  # Hydra checks its own settings
        if keys is None:
            keys = known_keys(config_name, _config_dirs(argv, config_dir))
        if config_name == "train" and key.startswith("trainer."):
            check_trainer_override(prefix, key, keys)
            continue
        if key in keys or key in OPEN or (plugged and key.startswith("model.")):
            continue
        free = next((o for o in OPEN if key.startswith(o + ".")), None)
        if (
            free is not None
        ):  # a new entry of a free map, unless it is a near-miss of an existing one (compared
            # without the map's own name, which every entry shares)
            entries = sorted(k[len(free) + 1 :] for k in keys if k.startswith(free + "."))
            close = difflib.get_close_matches(key[len(free) + 1 :], entries, n=1, cutoff=0.85)
            if not close:
                continue
            close = [f"{free}.{close[0]}"]
        else:
            close = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else f"see `python -m xnet.{config_name} --cfg job` for the keys"
        )
        raise XnetError(f"{key}: no such config key; {hint}")


def check_overrides(argv: Sequence[str], config_name: str, config_dir: Path) -> None:
    """What an entry point checks of its command line before Hydra sees it: no
    `--experimental-rerun`, every override parses, every key exists (`check_override_keys`)."""
    refuse_rerun(argv)
    check_override_syntax(argv)
    check_override_keys(argv, config_name, config_dir)


def refuse_rerun(argv: Sequence[str]) -> None:
    """Hydra's `--experimental-rerun FILE` unpickles FILE (a pickle can run any code), and xnet
    never writes the pickle it expects: refused, pointing at the run's own record."""
    if any(a == "--experimental-rerun" or a.startswith("--experimental-rerun=") for a in argv):
        raise XnetError(
            "--experimental-rerun: refused: it loads a pickle file, which can run any code, and "
            "xnet never writes one; rerun with the overrides in <run dir>/.hydra/overrides.yaml"
        )


def check_override_syntax(argv: Sequence[str]) -> None:
    """An override Hydra's grammar cannot parse (an unquoted non-ASCII path, an unclosed
    bracket) as one line showing how to quote it, instead of Hydra's parser trace."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser, skip = None, False
    for arg in argv:
        if skip or arg in _OPTION_ARGS:
            skip = not skip and arg in _OPTION_ARGS
            continue
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        parser = parser or OverridesParser.create()
        try:
            parser.parse_overrides([arg])
        except OverrideParseException as err:
            key, _, value = arg.partition("=")
            reason = str(err).splitlines()[0]
            quoted = "'" + key + '="' + value.replace('"', '\\"') + '"' + "'"
            raise XnetError(
                f"{arg}: Hydra cannot parse this override ({reason}); quote the value, for Hydra "
                f"and for the shell: {quoted}"
            ) from None
