"""One exception type for problems a user can fix (bad input files, configs or overrides), and the
way a command ends on one: one line on stderr, an exit status, never a traceback."""

from __future__ import annotations

import os
import signal
import sys

from hydra.errors import CompactHydraException


class XnetError(CompactHydraException):
    """A user-facing problem: printed as one line, without a traceback.

    It subclasses Hydra's compact exception so that `python -m xnet.train` prints only the message
    (HYDRA_FULL_ERROR=1 shows the traceback); other entry points use `exit_on_error`.
    """


class Stopped(BaseException):
    """SIGTERM or SIGINT (Ctrl-C) during a command. A BaseException, as KeyboardInterrupt is, so
    that nothing between the signal and the entry point swallows it: files being written are
    removed on the way out (`xnet.files.atomic_write`), and neither Hydra's job runner (which
    catches Exception) nor Lightning (which turns a KeyboardInterrupt into exit status 1) reports
    the run as done."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)


_command_pid: int | None = None


def _stop(signum, frame) -> None:
    if os.getpid() != _command_pid:  # a forked helper (figures, data) inherited the handler
        os._exit(128 + signum)
    for other in (signal.SIGTERM, signal.SIGINT):  # one signal is enough: unwind in peace
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def stop_on_signals() -> None:
    """From now on SIGTERM and SIGINT raise `Stopped` in this process (the command's main thread);
    a forked child that inherits the handler leaves at once, quietly, with status 128 + signal."""
    global _command_pid
    _command_pid = os.getpid()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)


def exit_on_error(func, unfinished: str | None = None):
    """Run `func()`; turn an XnetError into `xnet: error: ...` on stderr and exit status 2, and,
    where `unfinished` is given (what a stopped command leaves: "nothing written"), SIGINT or
    Ctrl-C into `xnet: interrupted; <unfinished>` (exit status 130) and SIGTERM into
    `xnet: terminated; <unfinished>` (143)."""
    try:
        return func()
    except XnetError as err:
        print(f"xnet: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, Stopped) as err:
        if unfinished is None:
            raise
        signum = getattr(err, "signum", signal.SIGINT)
        what = "terminated" if signum == signal.SIGTERM else "interrupted"
        print(f"xnet: {what}; {unfinished}", file=sys.stderr)
        raise SystemExit(128 + signum) from None
