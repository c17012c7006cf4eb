"""Job deferral for the stacked sweep launcher.

Kept in its own module: `python -m xnet.train` runs train.py as `__main__`, a different module
object from the `xnet.train` the launcher imports, so the shared state must live elsewhere.
"""

from __future__ import annotations

from contextlib import contextmanager

#: while a stacked sweep is being set up: (config, run dir, log files) of each job, trained
#: together later
recorded: list | None = None


@contextmanager
def deferred_jobs(store: list):
    """While active, `python -m xnet.train` jobs only record (config, run dir, log files) into
    `store`."""
    global recorded
    recorded = store
    try:
        yield store
    finally:
        recorded = None
