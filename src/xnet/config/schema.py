"""The one config schema: which keys exist, their types, and the range of every number a user
may set; every check runs before any work starts and fails in one line naming the key.

- Types and defaults: the structured configs of `xnet.config.structured`, onto which Hydra merges
  the YAML (a key they do not know, or a value of the wrong type, cannot compose).
- Ranges: the one table `xnet.config.rules.RULES`.
- The command line, before Hydra sees it (`check_overrides`): every key exists (else "did you
  mean <closest key>", difflib; Hydra's own `+` advice would silently add a key nothing reads),
  every value has its key's type, and every value of a key in `RULES` (each value of a sweep too,
  `check_sweep_values`) its range.
- The composed config (`validate_config`): its values against `RULES`.

Keys are read from the YAML files themselves as well (`known_keys`), so that a key of a user's own
config file (`--config-dir`) is known. Maps whose entries are free (a data config's `columns`,
loggers, callbacks, ...) are `OPEN`; `trainer` is closed by `xnet.config.trainer_args`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from xnet.config import structured
from xnet.config.argv import override_values
from xnet.config.argv import parse as argv_parse
from xnet.config.rules import RULES, show
from xnet.config.trainer_args import check_trainer_override
from xnet.errors import XnetError

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
            raise XnetError(f"{key}={show(value)}: must be {rule.describe()}")


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


def check_sweep_values(argv: Sequence[str], config_name: str) -> None:
    """Every value the command line gives a key of `RULES` (each value of a sweep too) against
    its rule, before any run or sweep folder exists: `-m model.hidden=10,ten` fails at once."""
    rules = RULES[config_name]
    for o in argv_parse(argv).overrides:
        if o.key not in rules or o.prefix == "~":
            continue
        for value in override_values(o.arg):
            if not rules[o.key].accepts(value):
                raise XnetError(f"{o.key}={show(value)}: must be {rules[o.key].describe()}")


def check_override_types(argv: Sequence[str], config_name: str) -> None:
    """Every value the command line gives a key of the structured schema
    (`xnet.config.structured`) has the key's type (a list where a list belongs, ...): one line
    before Hydra composes. Keys the schema leaves open are not checked here."""
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError, ValidationError

    overrides = argv_parse(argv).overrides
    if not overrides:
        return
    choices = {o.key: o.value for o in overrides if o.has_value and "." not in o.key}
    node, cls = structured.typed_node(config_name, choices), structured.schema(config_name)
    for o in overrides:
        if (
            node is None
            or o.prefix == "~"
            or not o.has_value
            or not structured.is_typed(cls, o.key)
        ):
            continue
        parent = o.key.rpartition(".")[0]
        if parent and OmegaConf.select(node, parent) is None:
            continue  # inside a group option without a schema (a model of one's own)
        for value in override_values(o.arg):
            try:
                OmegaConf.update(node, o.key, value, merge=True)  # as Hydra applies it
            except (ValidationError, ConfigKeyError) as err:
                raise XnetError(
                    f"{o.key}={show(value)}: not a value this key takes ({one_line(err)}); see "
                    f"`python -m xnet.{config_name} --cfg job` for its value"
                ) from None


def one_line(err: BaseException) -> str:
    """The first line of an OmegaConf or Hydra error, without its `full_key:` trailer."""
    text = str(getattr(err, "msg", None) or err).strip()
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__


def check_override_keys(argv: Sequence[str], config_name: str, config_dir: Path) -> None:
    """Refuse a command-line key that no config file defines, naming the closest real key."""
    command = argv_parse(argv)
    keys = None
    # a model plugged in by `model._target_` takes keys of its own (checked against its signature)
    plugged = any(o.key == "model._target_" and o.prefix != "~" for o in command.overrides)
    for o in command.overrides:
        key = o.key
        if not key or "/" in key or key == "hydra" or key.startswith("hydra."):
            continue  # Hydra checks its own settings
        if keys is None:
            keys = known_keys(config_name, command.config_dirs(config_dir))
        if config_name == "train" and key.startswith("trainer."):
            check_trainer_override(o.prefix, key, keys)
            continue
        if key in keys or key in OPEN or (plugged and key.startswith("model.")):
            continue
        close = _closest(key, keys)
        if close is None:
            continue
        hint = (
            f"did you mean {close}?"
            if close
            else f"see `python -m xnet.{config_name} --cfg job` for the keys"
        )
        raise XnetError(f"{key}: no such config key; {hint}")


def _closest(key: str, keys: set[str]) -> str | None:
    """The real key closest to a key no config defines ('' when none is close); None for a new
    entry of a free map (`OPEN`) that is no near-miss of an existing entry (compared without the
    map's own name, which every entry shares)."""
    free = next((o for o in OPEN if key.startswith(o + ".")), None)
    if free is None:
        close = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.6)
        return close[0] if close else ""
    entries = sorted(k[len(free) + 1 :] for k in keys if k.startswith(free + "."))
    close = difflib.get_close_matches(key[len(free) + 1 :], entries, n=1, cutoff=0.85)
    return f"{free}.{close[0]}" if close else None


def check_overrides(argv: Sequence[str], config_name: str, config_dir: Path) -> None:
    """What an entry point checks of its command line before Hydra sees it: no
    `--experimental-rerun`, every override parses, every key exists (`check_override_keys`),
    every value of a key in `RULES` is in its range (each value of a sweep too,
    `check_sweep_values`) and every value has its key's type (`check_override_types`)."""
    refuse_rerun(argv)
    check_override_syntax(argv)
    check_override_keys(argv, config_name, config_dir)
    check_sweep_values(argv, config_name)
    check_override_types(argv, config_name)


def refuse_rerun(argv: Sequence[str]) -> None:
    """Hydra's `--experimental-rerun FILE` unpickles FILE (a pickle can run any code), and xnet
    never writes the pickle it expects: refused, pointing at the run's own record."""
    if argv_parse(argv).option("--experimental-rerun"):
        raise XnetError(
            "--experimental-rerun: refused: it loads a pickle file, which can run any code, and "
            "xnet never writes one; rerun with the overrides in <run dir>/.hydra/overrides.yaml"
        )


def check_override_syntax(argv: Sequence[str]) -> None:
    """An override Hydra's grammar cannot parse (an unquoted non-ASCII path, an unclosed
    bracket) as one line showing how to quote it, instead of Hydra's parser trace."""
    overrides = argv_parse(argv).overrides
    if not overrides:
        return
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    for o in overrides:
        try:
            parser.parse_overrides([o.arg])
        except OverrideParseException as err:
            key, _, value = o.arg.partition("=")
            reason = str(err).splitlines()[0]
            quoted = "'" + key + '="' + value.replace('"', '\\"') + '"' + "'"
            raise XnetError(
                f"{o.arg}: Hydra cannot parse this override ({reason}); quote the value, for "
                f"Hydra and for the shell: {quoted}"
            ) from None


def composition_error(err: Exception, overrides: Sequence[str], config_name: str) -> XnetError:
    """A config that Hydra could not compose (an unknown key, a value of the wrong type, in a
    config file or on the command line) as one line: the command-line checks' own line where one
    of them finds the cause, else the first line of Hydra's or OmegaConf's message."""
    try:
        check_sweep_values(overrides, config_name)
        check_override_types(overrides, config_name)
    except XnetError as found:
        return found
    cause = err.__cause__ or err.__context__ or err  # Hydra raises it `from None`
    key = getattr(cause, "full_key", None)
    first = str(err).splitlines()[0] if str(err) else ""
    where = f" (in {first[3:].split(':')[0]})" if first.startswith("In '") else ""
    what = one_line(cause) if cause is not err else first
    return XnetError(
        f"{key + ': ' if key else ''}{what}{where}; the config cannot be composed: correct or "
        f"remove the key (`python -m xnet.{config_name} --cfg job` shows every key and its value)"
    )
