"""Run directories: never train over a finished run, never start in a folder that cannot be written.

A run directory holds a *finished run* when it has `metrics.json` (written last, once every split
is trained and evaluated); a sweep directory holds finished jobs when any of its job folders does,
or it has the sweep's `summary.csv`. Such a directory is refused unless `overwrite=true`, which
first deletes the files a run writes (`RUN_FILES`: metrics.json, checkpoints/, tensorboard/, the
figures, missing_values.csv, .hydra/, train.log, and in a sweep directory summary.csv,
multirun.yaml and accuracy_vs_width.png) and nothing else: a prediction written into the run
folder, or any other file, stays.

`python -m xnet.train` checks the `hydra.run.dir` / `hydra.sweep.dir` given on its command line
before Hydra creates it (`check_command_line`); every job checks its own directory again when it
starts (`check_job_dir`), which covers sweeps' job folders and directories named by interpolation.

Checking a directory also claims it for the training (`xnet.runs.run_claim`: a second training
into it is refused), refuses a non-empty folder xnet did not create unless `overwrite=true` (which
then deletes nothing in it), and deletes what an interrupted run left there (no metrics.json).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xnet.config.argv import parse as argv_parse
from xnet.errors import XnetError
from xnet.runs import run_claim

log = logging.getLogger("xnet.train")

FINISHED = "metrics.json"
#: what a training run writes into its directory (glob patterns); overwrite=true deletes only these
RUN_FILES = (
    "metrics.json",
    "checkpoints",
    "tensorboard",
    ".hydra",
    "train.log",
    "missing_values.csv",
    "class_shares.png",
    "sky_galactic.png",
    "hardness_*.png",
    "features_raw.png",
    "features_scaled.png",
    "missing_values.png",
    "confusion_counts.png",
    "confusion_normalized.png",
    "reliability_*.png",
    "coverage.png",
    ".metrics.json.*.tmp",  # metrics.json being written when the run was killed
)
#: what a sweep writes into its sweep directory besides its job folders
SWEEP_FILES = ("summary.csv", "multirun.yaml", "accuracy_vs_width.png", "tensorboard")
#: written by Hydra into the job's directory before the job starts (kept by `check_job_dir`)
HYDRA_FILES = (".hydra", "train.log")


def check_writable(path: Path, key: str) -> None:
    """One line when `path` cannot be created or written: it, or a folder above it, is a regular
    file, or the nearest existing folder refuses a new file (read-only)."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a regular file" if existing == path else f"is under {existing}, a regular file"
        raise XnetError(f"{key}={path}: {where}; choose another directory ({key}=<new folder>)")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".xnet-write-test-")
    except OSError as err:
        raise XnetError(
            f"{key}={path}: cannot write into {existing} ({err.strerror or os.strerror(err.errno or errno.EACCES)}); "
            f"choose a writable directory ({key}=<folder>)"
        ) from None
    os.close(fd)
    os.unlink(probe)


def finished_jobs(path: Path, sweep: bool) -> list[Path]:
    """The finished runs in a run directory (itself) or a sweep directory (its job folders)."""
    path = Path(path)
    if not sweep:
        return [path] if (path / FINISHED).is_file() else []
    jobs = sorted(p.parent for p in path.glob(f"*/{FINISHED}"))
    return jobs + ([path] if (path / "summary.csv").is_file() and not jobs else [])


def clear_run(path: Path, keep: Sequence[str] = ()) -> list[str]:
    """Delete the files a run writes in `path` (except `keep`); returns the names deleted."""
    deleted = []
    for pattern in RUN_FILES:
        for item in sorted(Path(path).glob(pattern)):
            if item.name in keep:
                continue
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
            deleted.append(item.name)
    return deleted


def claim(
    path: Path,
    overwrite: bool,
    key: str = "hydra.run.dir",
    sweep: bool = False,
    keep: Sequence[str] = (),
) -> None:
    """Check a run (or sweep) directory before any work and claim it for this process: writable,
    not a non-empty folder xnet did not create (unless `overwrite`), not in use by another
    training (`run_claim`), and no finished run in it unless `overwrite`, in which case the old
    run's files are deleted first. What an interrupted run left (no metrics.json) is deleted."""
    path = Path(path)
    check_writable(path, key)
    check_foreign(path, overwrite, key, sweep, keep)
    refuse_finished(path, overwrite, key, sweep)  # before claiming: a refusal changes nothing
    earlier = run_claim.is_xnets(path, sweep)
    if not run_claim.hold(path, key) or not earlier:
        return  # claimed already by this command, or a new directory
    try:
        refuse_finished(path, overwrite, key, sweep)  # finished while we waited for the claim
    except XnetError:
        run_claim.release(path)
        raise
    for job in finished_jobs(path, sweep):
        deleted = clear_run(job, keep)
        log.warning("overwrite=true: deleted the earlier run's %s in %s", ", ".join(deleted), job)
    clear_unfinished(path, sweep, keep)


def refuse_finished(path: Path, overwrite: bool, key: str, sweep: bool) -> None:
    done = finished_jobs(path, sweep)
    if done and not overwrite:
        what = (
            f"finished jobs ({', '.join(p.name for p in done[:5])}{', ...' if len(done) > 5 else ''})"
            if sweep
            else "a finished run (metrics.json)"
        )
        raise XnetError(
            f"{key}={path}: holds {what}; choose another directory ({key}=<new folder>, or leave it out "
            f"for a new dated one), or pass overwrite=true to delete the old run's files first"
        )


def clear_unfinished(path: Path, sweep: bool, keep: Sequence[str] = ()) -> None:
    """Delete what an interrupted (killed) run left, so that it never mixes with the next one:
    its checkpoints and their temporary files, its TensorBoard events, figures, log; in a sweep
    directory the sweep's own files and every unfinished job folder's run files."""
    folders = [path] if not sweep else [p for p in Path(path).iterdir() if p.is_dir()]
    for folder in folders:
        if sweep and (not run_claim.is_xnets(folder) or (folder / FINISHED).exists()):
            continue
        deleted = clear_run(folder, keep if not sweep else ())
        if deleted:
            log.warning(
                "deleted what an interrupted run left in %s: %s", folder, ", ".join(deleted)
            )
    if sweep:
        for name in SWEEP_FILES:
            item = Path(path) / name
            shutil.rmtree(item) if item.is_dir() else item.unlink(missing_ok=True)


def check_foreign(path: Path, overwrite: bool, key: str, sweep: bool, keep: Sequence[str]) -> None:
    """A non-empty folder xnet did not create is refused unless `overwrite`; then nothing in it is
    deleted, and the files a run writes replace their namesakes (said in a warning)."""
    entries = run_claim.foreign_entries(path, sweep, keep)
    if not entries:
        return
    shown = ", ".join(entries[:5]) + (f", ... ({len(entries)} entries)" if len(entries) > 5 else "")
    if not overwrite:
        raise XnetError(
            f"{key}={path}: a folder xnet did not create, holding {shown}; choose an empty or new "
            f"directory ({key}=<new folder>), or pass overwrite=true to train into it (nothing in "
            f"it is deleted; files named as a run's are replaced)"
        )
    same = sorted({p.name for pattern in RUN_FILES for p in Path(path).glob(pattern)} - set(keep))
    log.warning(
        "overwrite=true: training into %s, a folder xnet did not create; %s",
        path,
        f"its {', '.join(same)} will be replaced"
        if same
        else "none of its files has a run file's name",
    )


def command_line_dirs(argv: Sequence[str]) -> tuple[str | None, bool, bool]:
    """(the run or sweep directory given on the command line, multirun?, overwrite?)."""
    command = argv_parse(argv)
    multirun, values = command.multirun, command.values()
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    overwrite = str(values.get("overwrite", "false")).strip().lower() in ("true", "1", "yes")
    return values.get(key), multirun, overwrite


def check_command_line(argv: Sequence[str]) -> None:
    """Before Hydra creates the directory: the one named by `hydra.run.dir=` / `hydra.sweep.dir=`
    (or, when none is named, the default outputs/ folder) must be writable and hold no finished
    run unless overwrite=true. A directory named through an interpolation is left to `check_job_dir`."""
    directory, multirun, overwrite = command_line_dirs(argv)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    if directory is None:
        check_writable(Path("outputs"), key)
    elif "${" not in directory:
        claim(Path(directory).expanduser(), overwrite, key=key, sweep=multirun)


def check_job_dir(run_dir: str | Path, overwrite: bool) -> None:
    """When a job starts (Hydra has just written its .hydra/ and log there): its directory must
    hold no finished run unless overwrite=true (a sweep's job folders, interpolated directories)."""
    claim(Path(run_dir), overwrite, key="run directory", keep=HYDRA_FILES)
