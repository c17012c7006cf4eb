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

(Hydra 1.3's `hydra.main` composes the config twice, once only to read `hydra.mode`; xnet used to
skip that first compose by replacing a method of Hydra's private `hydra._internal.hydra.Hydra`.
Hydra has no public way to do it, so the patch is gone: it cost 0.08-0.15 s a command.)
"""

from __future__ import annotations

import gc
from importlib import import_module

_paused = False


def pause() -> None:
    """Stop cyclic collection until `resume` (the command's imports are long-lived, not garbage),
    unless the `gc` piece is off (`xnet.runtime.switch`)."""
    global _paused
    from xnet.errors import exit_on_error
    from xnet.runtime import switch

    if "gc" in exit_on_error(switch.off):  # the command's first act: a bad switch is one line
        return
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
