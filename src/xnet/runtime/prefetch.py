"""A run's data, prepared in a forked child while `python -m xnet.train` imports Lightning and torch.

Importing Lightning and torch takes ~3 s of one core and the run can do nothing useful meanwhile
in its own process; the second core is idle. `start` forks a child (where fork is available and a
core is idle) that reads the catalog, selects the labelled set, makes the splits and, for every
network's split, fits the scaler and builds the resampled, scaled training set (`fit_split`): the
work of `prepare_job` and of each `XrayDataModule.setup` that needs neither torch nor Lightning
(0.63 s + 5 x 0.15 s for the 16,000-row 5-fold CV). The child sends it back pickled; `take`
(called by `prepare_job`) receives it once the imports are done. The computations are the ones the
run would do itself, on the same inputs, so nothing changes but the wall time (tested). If the
child fails, the run prepares its data in-process as before; a user error (XnetError) found by
the child is raised by `take` as the run would have raised it.

Lightning-free: the child is forked before Lightning is imported.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from xnet.errors import XnetError

log = logging.getLogger("xnet.train")


def config_key(*nodes) -> str:
    """One string for config nodes and plain values: equal settings, equal key."""
    return json.dumps(
        [
            OmegaConf.to_container(n, resolve=True) if isinstance(n, DictConfig) else n
            for n in nodes
        ],
        sort_keys=True,
        default=str,
    )


def data_key(cfg: DictConfig) -> str:
    """Jobs whose data settings agree share one labelled set and splits (`prepare_job`'s cache)."""
    return config_key(cfg.data, cfg.features, cfg.split, cfg.cv, cfg.seed)


def job_data(cfg: DictConfig):
    """The labelled set and splits of a run (`prepare_job`'s work)."""
    from xnet.data.labelled import prepare_labelled_set
    from xnet.data.shifted import splits_for

    data = prepare_labelled_set(cfg.data, cfg.features, int(cfg.split.min_class_count))
    folds = int(cfg.cv.folds or 0)
    if folds == 1 or folds < 0:
        raise XnetError(f"cv.folds={folds}: use 0 for one train/test split or K >= 2 for K-fold CV")
    return data, splits_for(data, cfg.cv, cfg.split, int(cfg.seed))  # cv.scheme: xnet.data.shifted


def split_key(split, resample: Mapping, seed: int) -> tuple:
    """What a training set depends on besides the labelled set: its rows, resampling and seed."""
    rows = hashlib.sha1(np.ascontiguousarray(split.train).tobytes()).hexdigest()
    plain = {
        k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v
        for k, v in dict(resample).items()
    }
    return rows, json.dumps(plain, sort_keys=True, default=str), int(seed)


def fit_split(
    data, split, resample: Mapping, seed: int, with_parents: bool = False
) -> tuple[Any, ...]:
    """The scaler fitted on the split's training rows and the resampled, scaled training set
    (`XrayDataModule.setup` before its tensors); with `with_parents`, also each training row's
    source row in the labelled set (whose extra inputs, such as a light curve, it carries)."""
    from xnet.data.noise import error_resampled
    from xnet.data.preprocessing import fit_scaler, resample_training_set, transform

    scaler = fit_scaler(data.x[split.train], data.feature_names)
    # xnet.data.noise: error and reddened-AGN copies (none by default)
    x_fit, y_fit, parents = error_resampled(data, split.train, resample, seed, with_parents=True)
    out = resample_training_set(
        transform(scaler, x_fit), y_fit, data.classes, resample, seed, parents=parents
    )
    return (scaler, *out) if with_parents else (scaler, *out[:2])


def _prepare(cfg: DictConfig, conn) -> None:
    """The child's work: (data, splits) with every network's training set in `data.prepared`."""
    try:
        from xnet.data.splits import ensemble_splits

        data, splits = job_data(cfg)
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
                    data.prepared[split_key(split, resample, seed)] = fit_split(
                        data, split, resample, seed
                    )
        conn.send(("ok", (data, splits)))
    except XnetError as err:
        conn.send(("error", err))
    except BaseException as err:  # noqa: BLE001: the run prepares its data itself and meets the problem there
        conn.send(("failed", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


#: data_key -> (child process, receiving end) of the data being prepared
_PENDING: dict[str, tuple] = {}


def fork_safe() -> bool:
    """Whether a forked child may run scikit-learn: only before torch and scikit-learn are loaded.
    Their OpenMP runtimes do not survive fork once their thread pools exist (the child hangs in
    its first parallel region), so a process that has trained already (a basic-launcher sweep's
    next job, a notebook) prepares its data in-process."""
    import sys

    return "torch" not in sys.modules and "sklearn" not in sys.modules


def start(cfg: DictConfig) -> None:
    """Fork a child preparing `cfg`'s data, where fork is available and safe and a core is idle."""
    from xnet.runtime.cores import can_fork, idle_cores

    if not can_fork() or not fork_safe() or idle_cores() < 1:
        return
    import multiprocessing
    import sys

    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # the child must not write what the parent had buffered
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_prepare, args=(cfg, send), daemon=True)
    child.start()
    send.close()
    _PENDING[data_key(cfg)] = (child, receive)


def take(cfg: DictConfig):
    """(data, splits) prepared by the child for `cfg`, or None (none started, or it failed)."""
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
    return value
