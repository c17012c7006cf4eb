"""How many of this machine's cores are free now: for the stack's torch threads and for the
figures drawn in forked children (`xnet.plotting.png`, `xnet.plotting.figure_cache`)."""

from __future__ import annotations

import os
from pathlib import Path


def busy_cores() -> int:
    """Cores taken by other processes now: the runnable tasks of /proc/loadavg but this one (Linux),
    else the 1-minute load average; at least this run's own live children."""
    import multiprocessing

    children = len(multiprocessing.active_children())
    try:
        runnable = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        runnable = int(os.getloadavg()[0] + 0.5) if hasattr(os, "getloadavg") else 0
    return max(children, runnable)


def idle_cores() -> int:
    """Cores nobody uses now, this process's own core not counted as idle (0 on a busy machine)."""
    return max(0, (os.cpu_count() or 1) - 1 - busy_cores())


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
