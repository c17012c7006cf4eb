"""Each sweep job's own log file under the stacked launcher.

Hydra's launchers log a job's lines into its directory (`hydra/job_logging`: `<job dir>/train.log`)
while the job runs. The stacked launcher only records a job then and trains all jobs afterwards, so
it notes the file handlers Hydra set up for the job (`record_log_files`) and `JobLogs` attaches
them again while that job's work (data, fit of its stack, evaluation, report) is being done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


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
