"""How many cores this process may use, and how many of them are free now: for the stack's torch
threads (`model.num_threads=auto`) and prediction's row threads (`workers=auto`).

`usable_cores` is what the process is allowed: its CPU affinity (`taskset`, a SLURM allocation)
capped by its cgroup's CPU quota (a container's `--cpus`), not the host's `os.cpu_count()`.
`busy_cores` reads the host's run queue (`/proc/loadavg`), which in a container or an allocation
counts other tenants too: it can only make xnet take fewer cores, never more than it may use.
The run queue counts threads, this process's own among them (its torch threads): those running
now (`/proc/self/task`) are taken off, or a stack on two threads would find its own second thread
busy and drop to one, then find the core free and take it back, every other check.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

#: where the cgroup file systems are mounted (a test points it at a fake tree)
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: the proc file system (a test points it at a fake tree)
PROC = Path("/proc")


def cgroup_quota(root: Path | None = None) -> float | None:
    """The cgroup CPU quota in cores (cgroup v2 `cpu.max`, else v1 `cpu.cfs_quota_us` over
    `cpu.cfs_period_us`), or None where there is none or it cannot be read."""
    root = CGROUP_ROOT if root is None else root
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]  # v2: "max 100000"
    except (OSError, ValueError):
        quota = period = None
        for folder in (root / "cpu", root / "cpu,cpuacct", root):  # v1 layouts
            try:
                quota = (folder / "cpu.cfs_quota_us").read_text().strip()  # -1: none
                period = (folder / "cpu.cfs_period_us").read_text().strip()
                break
            except OSError:
                continue
    try:
        cores = int(quota) / int(period)
    except (TypeError, ValueError, ZeroDivisionError):  # "max", unreadable or malformed
        return None
    return cores if cores > 0 else None


def usable_cores() -> int:
    """Cores this process may run on: its affinity, capped by the cgroup quota (rounded up)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_quota()
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def own_running_threads() -> int:
    """This process's threads running or runnable now (state R in /proc/self/task; at least 1:
    the one asking)."""
    running = 0
    try:
        for task in (PROC / "self" / "task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:  # the thread ended meanwhile
                continue
            running += stat[stat.rindex(")") + 2 :].startswith("R")
    except (OSError, ValueError):
        pass
    return max(1, running)


def busy_cores() -> int:
    """Cores taken by other processes now: the runnable tasks of /proc/loadavg but this process's
    own (Linux), else the 1-minute load average; at least this run's own live children."""
    import multiprocessing

    children = len(multiprocessing.active_children())
    try:
        total = int((PROC / "loadavg").read_text().split()[3].split("/")[0])
        runnable = total - own_running_threads()
    except (OSError, ValueError, IndexError):
        runnable = int(os.getloadavg()[0] + 0.5) if hasattr(os, "getloadavg") else 0
    return max(children, runnable)


def free_cores() -> int:
    """Usable cores nobody runs on now, this process's own core counted as free (at least 1)."""
    return max(1, usable_cores() - busy_cores())


def idle_cores() -> int:
    """Usable cores nobody uses now, this process's own core not counted (0 on a busy machine)."""
    return free_cores() - 1


def can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()
