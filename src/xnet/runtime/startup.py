"""Start-up of the command-line entry points: their heavy imports run with Python's cyclic garbage
collector paused, and what they import is frozen out of later collections.

Importing Lightning and torch creates hundreds of thousands of long-lived objects and next to no
garbage, yet the collector walks the growing heap again and again while they load, and once more
when the interpreter exits (`python benchmarks/commands.py --only startup` times the import this
way against the plain one).

`pause()` at the start of a command; `resume(modules)` imports the command's heavy modules, then
`gc.freeze()`s everything alive (later collections and the exit skip it) and turns the collector
back on, so what the run itself allocates is collected as usual. Only the entry points pause
(`python -m xnet.train`, `python -m xnet.predict`); `resume` in a process that did not pause (a
library caller, a test) only imports, and leaves its collector alone.
"""

from __future__ import annotations

import gc
from importlib import import_module
from pathlib import Path

from xnet.config.argv import CONFIG_OPTIONS
from xnet.config.argv import parse as argv_parse

_paused = False


def pause() -> None:
    """Stop cyclic collection until `resume` (the command's imports are long-lived, not garbage)."""
    global _paused
    gc.disable()
    _paused = True


def resume(*modules: str) -> None:
    """Import `modules` (the collector still paused); after a `pause`, freeze every object alive
    and collect again."""
    global _paused
    try:
        for name in modules:
            import_module(name)
    finally:
        if _paused:
            _paused = False
            gc.freeze()
            gc.enable()


def mode_is_default(argv: list[str], config_dir: Path) -> bool:
    """Whether the command line leaves `hydra.mode` unset: no other primary config, no `hydra.mode`
    override and no config-group choice (a group file, such as hparams_search/optuna.yaml, may set
    the mode). xnet's own primary configs (train.yaml, predict.yaml) do not set it."""
    command = argv_parse(argv)
    if command.option(*CONFIG_OPTIONS):
        return False
    return not any(
        o.key.startswith("hydra.mode") or ("." not in o.key and (config_dir / o.key).is_dir())
        for o in command.overrides
        if o.has_value
    )


def compose_once(argv: list[str], config_dir: Path) -> None:
    """Let `hydra.main` compose the config once instead of twice where the answer of the first
    compose is known.

    Hydra 1.3's `hydra.main` composes the whole config once only to read `hydra.mode`
    (`Hydra.get_mode`, None when unset) and then again to run (0.08-0.15 s each here). Where
    `mode_is_default` says the mode is unset, `get_mode` answers None without composing: Hydra
    then runs (or, with -m, sweeps) exactly as before. Any other command line composes twice, as
    Hydra does. A test checks the answer against Hydra's own `get_mode`."""
    if not mode_is_default(argv, config_dir):
        return
    from hydra._internal.hydra import Hydra

    Hydra.get_mode = _unset_mode


def _unset_mode(self, config_name, overrides):  # Hydra.get_mode's signature
    return None
