"""The one reader of a Hydra command line (`python -m xnet.train ...`, `xnet.predict ...`), for
the checks that run before Hydra sees it: which arguments are overrides (`key=value`,
`+key=value`, `++key=value`, `~key`), which are options, which folders `--config-dir` adds, and
whether it is a multirun. Torch-free and Hydra-free: it only splits strings (the values are parsed
by Hydra's own grammar where a check needs them, `override_values`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: command-line options that take the next argument as their value
OPTION_ARGS = frozenset(
    {
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
)
#: options that choose or add config files (another primary config, another search path)
CONFIG_OPTIONS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn")


@dataclass(frozen=True)
class Override:
    """One override argument: `arg` as given, its `prefix` ('', '+', '++' or '~'), the config
    `key` it names (a package `@...` cut off) and its `value` text ('' for `~key`; `has_value`
    tells `key=` from `~key`)."""

    arg: str
    prefix: str
    key: str
    value: str
    has_value: bool


@dataclass(frozen=True)
class CommandLine:
    """A command line split into options (with their values) and overrides."""

    overrides: list[Override] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # options without a value: -m, --help, ...

    @property
    def multirun(self) -> bool:
        return any(f in ("-m", "--multirun") for f in self.flags)

    def option(self, *names: str) -> list[str]:
        """The values given to any of these options, in order."""
        return [v for name in names for v in self.options.get(name, [])]

    def config_dirs(self, config_dir: Path) -> list[Path]:
        """The config folders: `config_dir` (conf/) and every --config-dir / -cd."""
        return [Path(config_dir)] + [Path(d) for d in self.option("--config-dir", "-cd")]

    def values(self) -> dict[str, str]:
        """The value each `key=value` override gives its key (the last one wins, as in Hydra)."""
        return {o.key: o.value for o in self.overrides if o.has_value and o.prefix != "~"}


def _override(arg: str) -> Override:
    name, sep, value = arg.partition("=")
    body = name.lstrip("+~")
    prefix = name[: len(name) - len(body)]
    return Override(arg, prefix, body.split("@")[0].strip(), value, bool(sep))


def parse(argv: Sequence[str]) -> CommandLine:
    """Split `argv` (without the program name) as Hydra's argparse front end does."""
    overrides: list[Override] = []
    options: dict[str, list[str]] = {}
    flags: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name, sep, value = arg.partition("=")
        if arg in OPTION_ARGS:
            options.setdefault(arg, []).append(args[i + 1] if i + 1 < len(args) else "")
            i += 2
            continue
        if arg.startswith("-") and sep and name in OPTION_ARGS:
            options.setdefault(name, []).append(value)
        elif arg.startswith("-"):
            flags.append(arg)
        elif sep or arg.startswith("~"):
            overrides.append(_override(arg))
        i += 1
    return CommandLine(overrides, options, flags)


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
