"""The one switch of xnet's speed machinery: the environment variable `XNET_SPEED_OFF`.

Unset (the default), every piece is on. `XNET_SPEED_OFF=all` turns every piece off: the run does
the same work in its own process, in order, with the same results. A comma-separated list turns
off only the pieces it names (`benchmarks/machinery.py` measures each one this way):

- `gc`: the garbage collector paused while a command imports (`xnet.runtime.startup`);
- `draw_ahead`: a first run's data figures drawn in a forked child while its networks train
  (`xnet.training.run.draw_data_figures_ahead`).

Two pieces measured not to pay on a quiet 2-core machine were removed (issue 24): the data
prepared in a forked child while Lightning and torch import, and figures rendered to PNG in forked
children on idle cores.
"""

from __future__ import annotations

import os

from xnet.errors import XnetError

VARIABLE = "XNET_SPEED_OFF"
PIECES = ("gc", "draw_ahead")


def off() -> set[str]:
    """The pieces switched off by `XNET_SPEED_OFF`; an unknown name is an error."""
    value = os.environ.get(VARIABLE, "").strip().lower()
    names = {name.strip() for name in value.split(",") if name.strip()}
    if "all" in names:
        return set(PIECES)
    unknown = sorted(names - set(PIECES))
    if unknown:
        raise XnetError(
            f"{VARIABLE}={value}: unknown piece {', '.join(unknown)}; "
            f"use all, or a comma-separated list of {', '.join(PIECES)}"
        )
    return names


def on(piece: str) -> bool:
    """Whether `piece` (one of `PIECES`) is on."""
    return piece not in off()
