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
    """Run `func()`; turn an XnetError into `xnet: error: ...` on stderr and exit status 2, and,
    where `interrupted` is given, Ctrl-C into `xnet: <interrupted>` and exit status 130."""
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


def quiet_broken_pipe(func):
    """Run `func()`; a reader that stops early (`python -m xnet.train --help | head`) ends the
    command quietly, exit status 1, instead of a BrokenPipeError traceback (Python's recipe:
    stdout pointed at devnull so that the flush at exit does not fail again)."""
    import os

    try:
        try:
            return func()
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
