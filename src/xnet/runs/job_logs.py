"""Each sweep job's own log file under the stacked launcher.

Hydra's launchers log a job's lines into its directory (`hydra/job_logging`: `<job dir>/train.log`)
while the job runs. The stacked launcher only records a job then and trains all jobs afterwards, so
it notes the file handlers Hydra set up for the job (`record_log_files`) and `JobLogs` attaches
them again while that job's work (data, fit of its stack, evaluation, report) is being done. The
lines logged while a labelled set is prepared go to every job that shares it (`JobLogs.prepare`).

The console of a stacked sweep (`SweepConsole`) shows the data summary, warnings and one result
line per job, each text once; the jobs' logs keep everything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

#: `log.info(..., extra=CONSOLE)`: a line a sweep's console shows (once)
CONSOLE = {"console": True}


@dataclass(frozen=True)
class LogFile:
    path: str
    formatter: logging.Formatter | None
    level: int


def record_log_files() -> list[LogFile]:
    """The file handlers on the root logger now (Hydra's per-job log, while a job is set up)."""
    return [
        LogFile(h.baseFilename, h.formatter, h.level)
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler)
    ]


class JobLogs:
    """`with logs.attached(key, ...)`: the log files recorded for those keys receive the records."""

    def __init__(self, files: dict[object, Sequence[LogFile]]):
        self.handlers: dict[object, list[logging.Handler]] = {}
        for key, entries in files.items():
            handlers = []
            for entry in entries:
                handler = logging.FileHandler(entry.path, mode="a", encoding="utf-8")
                handler.setFormatter(entry.formatter)
                handler.setLevel(entry.level)
                handlers.append(handler)
            self.handlers[key] = handlers
        self.data_records: dict[int, list[logging.LogRecord]] = {}  # id(labelled set) -> records

    @contextmanager
    def attached(self, *keys: object):
        root = logging.getLogger()
        added = [
            h
            for key in dict.fromkeys(keys)
            for h in self.handlers.get(key, ())
            if h not in root.handlers
        ]
        for handler in added:
            root.addHandler(handler)
        try:
            yield
        finally:
            for handler in added:
                root.removeHandler(handler)
                handler.flush()

    def prepare(self, key: object, prepare: Callable):
        """`prepare()` (a job, `xnet.training.stacking.prepare_job`) with `key`'s logs attached;
        the lines logged while its labelled set was prepared (once, for the first job on it) are
        written into the logs of every later job that shares it."""
        recorder = Recorder()
        root = logging.getLogger()
        with self.attached(key):
            root.addHandler(recorder)
            try:
                job = prepare()
            finally:
                root.removeHandler(recorder)
            own = [r for r in recorder.records if not getattr(r, "console", False)]
            shared = self.data_records.setdefault(id(job.data), own)
            if shared is not own:
                for record in shared:
                    for handler in self.handlers.get(key, ()):
                        if record.levelno >= handler.level:
                            handler.handle(record)
        return job

    def close(self) -> None:
        for handlers in self.handlers.values():
            for handler in handlers:
                handler.close()


@contextmanager
def job_logs(files: Iterable[tuple[object, Sequence[LogFile]]]):
    """`JobLogs` for (key, recorded files) pairs, its files closed at the end."""
    logs = JobLogs(dict(files))
    try:
        yield logs
    finally:
        logs.close()


class Recorder(logging.Handler):
    """Keeps the records it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class SweepConsole(logging.Filter):
    """A stacked sweep's console: the lines logged with `extra=CONSOLE` (the data summary, each
    job's result) and warnings, each text once (the same data warning of every job is one line);
    the jobs' own logs keep every line."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and not getattr(record, "console", False):
            return False
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True

    @contextmanager
    def active(self):
        """While active, on the terminal handlers of the root logger (plain StreamHandlers, not
        log files or pytest's capture)."""
        handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
        for handler in handlers:
            handler.addFilter(self)
        try:
            yield
        finally:
            for handler in handlers:
                handler.removeFilter(self)


LONG_FLOAT = re.compile(r"(?<![\w.])\d+\.\d{5,}(?:e-?\d+)?")


def short_floats(text: str) -> str:
    """Floats printed to 5 or more decimals (`0.027701578430639338`) to 4 significant digits."""
    return LONG_FLOAT.sub(lambda m: f"{float(m.group()):.4g}", text)


class ShortFloats(logging.Formatter):
    """A console formatter for lines whose floats come from other libraries unrounded (Hydra's
    Optuna sweeper: `Best parameters: {'model.dropout': 0.2634352309172836}`)."""

    def format(self, record: logging.LogRecord) -> str:
        return short_floats(super().format(record))


def quiet_optuna() -> None:
    """Optuna's own lines through the root logger (the console format, no colour codes) rather
    than its colour handler; nothing where Optuna is not loaded (it is, once its sweeper is)."""
    import sys

    if "optuna" in sys.modules:
        optuna = sys.modules["optuna"]
        optuna.logging.disable_default_handler()
        optuna.logging.enable_propagation()
