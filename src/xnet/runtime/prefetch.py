"""A run's data, prepared in a forked child while `python -m xnet.train` imports Lightning and
torch.

Importing Lightning and torch takes ~3 s of one core and the run can do nothing useful meanwhile
in its own process. `start` forks a child (where fork is available, a core is idle and the
`prefetch` piece is on, `xnet.runtime.switch`) that does the run's ordinary data preparation
(`xnet.data.prepare`): it reads the catalog, selects the labelled set, makes the splits and, for
every network's split, fits the scaler and builds the resampled, scaled training set. The child
sends it back pickled; `take` (called by `prepare_job`) receives it once the imports are done and
keeps the training sets here until each data module takes its own (`training_set`). The
computations are the ones the run would do itself, on the same inputs, so nothing changes but the
wall time (tested). If the child fails, the run prepares its data in-process as before; a user
error (XnetError) found by the child is raised by `take` as the run would have raised it.

Fork safety, explicitly: the child is forked before the parent has imported torch or scikit-learn
(`start` refuses otherwise), and the child's first act is to limit every thread pool loaded in it
to one thread (threadpoolctl), so none of its work can enter a parallel region that waits for a
thread that did not survive the fork.
"""

from __future__ import annotations

import logging
import sys
import weakref

from omegaconf import DictConfig

from xnet.data.prepare import data_key, fit_split, job_data, split_key
from xnet.errors import XnetError

log = logging.getLogger("xnet.train")

#: what a child must not inherit: OpenMP runtimes whose thread pools may already exist
NOT_FORKABLE_AFTER = ("torch", "sklearn")


def _prepare(cfg: DictConfig, conn) -> None:
    """The child's work: (data, splits, {split_key: every network's training set})."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        from xnet.data.splits import ensemble_splits

        data, splits = job_data(cfg)
        sets = {}
        if not data.inputs:  # extra inputs (light curves) are set up by the data module itself
            resample = dict(cfg.resample)  # as XrayDataModule holds it
            for outer in splits:
                inner = ensemble_splits(
                    outer,
                    data.y,
                    float(cfg.split.val_size),
                    int(cfg.seed),
                    int(cfg.ensemble.members),
                    groups=data.groups,
                )
                for split, seed in inner:
                    sets[split_key(split, resample, seed)] = fit_split(data, split, resample, seed)
        conn.send(("ok", (data, splits, sets)))
    except XnetError as err:
        conn.send(("error", err))
    except BaseException as err:  # noqa: BLE001 (the run prepares its data itself and meets it)
        conn.send(("failed", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


#: data_key -> (child process, receiving end) of the data being prepared
_PENDING: dict[str, tuple] = {}
#: id(labelled set) -> its training sets prepared ahead, by split_key (dropped with the set)
_READY: dict[int, dict] = {}


def fork_safe() -> bool:
    """Whether this process may fork the child: not once torch or scikit-learn is loaded (a
    basic-launcher sweep's next job, a notebook), whose OpenMP pools may not survive a fork."""
    return not any(name in sys.modules for name in NOT_FORKABLE_AFTER)


def start(cfg: DictConfig) -> None:
    """Fork a child preparing `cfg`'s data, where fork is available and safe, a core is idle and
    the `prefetch` piece is on."""
    from xnet.runtime import switch
    from xnet.runtime.cores import can_fork, idle_cores

    if not switch.on("prefetch") or not can_fork() or not fork_safe() or idle_cores() < 1:
        return
    import multiprocessing

    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # the child must not write what the parent had buffered
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_prepare, args=(cfg, send), daemon=True)
    child.start()
    send.close()
    _PENDING[data_key(cfg)] = (child, receive)


def take(cfg: DictConfig):
    """(data, splits) prepared by the child for `cfg`, or None (none started, or it failed); the
    training sets wait for `training_set`."""
    pending = _PENDING.pop(data_key(cfg), None)
    if pending is None:
        return None
    child, receive = pending
    try:
        status, value = receive.recv()
    except (EOFError, OSError):
        status, value = "failed", f"exit code {child.exitcode}"
    finally:
        receive.close()
        child.join()
    if status == "error":
        raise value
    if status != "ok":
        log.debug("preparing the data ahead failed (%s); preparing it here", value)
        return None
    data, splits, sets = value
    if sets:
        _READY[id(data)] = sets
        weakref.finalize(data, _READY.pop, id(data), None)
    return data, splits


def training_set(data, split, resample, seed: int) -> tuple | None:
    """(scaler, x, y) of this network's split prepared ahead, once; else None."""
    sets = _READY.get(id(data))
    if not sets:
        return None
    return sets.pop(split_key(split, resample, seed), None)
