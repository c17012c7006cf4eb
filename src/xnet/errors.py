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
_requested: int | None = None  # the signal received, kept in case a library swallows `Stopped`


def _stop(signum, frame) -> None:
    global _requested
    if os.getpid() != _command_pid:  # a forked helper (figures, data) inherited the handler
        os._exit(128 + signum)
    for other in (signal.SIGTERM, signal.SIGINT):  # one signal is enough: unwind in peace
        signal.signal(other, signal.SIG_IGN)
    _requested = signum
    raise Stopped(signum)


def check_stopped() -> None:
    """Raise `Stopped` again if a signal was received: a library that catches every exception
    (in an optional import, say) must not turn a stopped command into a finished one, so every
    file xnet publishes asks first (`xnet.files.publish`)."""
    if _requested is not None:
        raise Stopped(_requested)


def stop_on_signals() -> None:
    """From now on SIGTERM and SIGINT raise `Stopped` in this process (the command's main thread);
    a forked child that inherits the handler leaves at once, quietly, with status 128 + signal."""
    global _command_pid, _requested, _said
    _command_pid, _requested, _said = os.getpid(), None, False
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)


def exit_on_error(func, unfinished: str | None = None):
    """Run `func()`; turn an XnetError into `xnet: error: ...` on stderr and exit status 2, and,
    where `unfinished` is given (what a stopped command leaves: "nothing written"), SIGINT or
    Ctrl-C into `xnet: interrupted; <unfinished>` (exit status 130) and SIGTERM into
    `xnet: terminated; <unfinished>` (143), also where a library turned the signal into its own
    exit (Lightning: SystemExit with status 0) or swallowed it."""
    try:
        result = func()
        check_stopped()  # stopped, though something swallowed the exception on the way here
        return result
    except XnetError as err:
        print(f"xnet: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, Stopped, SystemExit) as err:
        stopped = not isinstance(err, SystemExit) or (_requested is not None and not _said)
        if unfinished is None or not stopped:
            raise
        _say_stopped(getattr(err, "signum", None) or _requested or signal.SIGINT, unfinished)


_said = False  # the stop's one line is printed once, by the outermost `exit_on_error`


def _say_stopped(signum: int, unfinished: str):
    global _said
    import atexit
    import logging

    # no exit-time chatter after the line: run before the handlers libraries registered at import
    # (torch's logs its cache statistics), since atexit runs the last registered first
    atexit.register(logging.disable, logging.INFO)
    what = "terminated" if signum == signal.SIGTERM else "interrupted"
    print(f"xnet: {what}; {unfinished}", file=sys.stderr)
    _said = True
    raise SystemExit(128 + signum) from None


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
