"""One exception type for problems a user can fix: bad input files, configs or overrides."""

from __future__ import annotations

import sys

from hydra.errors import CompactHydraException


class XnetError(CompactHydraException):
    """A user-facing problem: printed as one line, without a traceback.

    It subclasses Hydra's compact exception so that `python -m xnet.train` prints only the message
    (HYDRA_FULL_ERROR=1 shows the traceback); other entry points use `exit_on_error`.
    """


def exit_on_error(func, interrupted: str | None = None):
    """Run `func()`; turn an XnetError into `xnet: error: ...` on stderr and exit status 2, and, where
    `interrupted` is given, Ctrl-C into `xnet: <interrupted>` and exit status 130."""
    try:
        return func()
    except XnetError as err:
        print(f"xnet: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        print(f"xnet: {interrupted}", file=sys.stderr)
        raise SystemExit(130) from None
