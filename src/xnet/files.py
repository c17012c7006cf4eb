"""Writing files safely: into a hidden temporary file beside the target, renamed into place only
once complete, with a new file's usual permissions (the umask's, not mkstemp's private 0600).

Every output xnet writes goes through here: metrics.json, checkpoints, prediction tables and
downloaded catalogs. An interrupted write never leaves a partial or clobbered file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePath


def temporary_beside(path: Path, suffix: str = ".tmp") -> Path:
    """An empty hidden file `.<name>.<pid>.<random><suffix>` in `path`'s folder (the same file
    system, so the rename is atomic); the process id lets a later run tell a stale one."""
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=suffix
    )
    os.close(fd)
    return Path(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(path: Path, suffix: str = ".tmp") -> list[Path]:
    """Delete the temporary files of `path` left by killed writers (their process is gone, or
    their name carries no process id); those of a live writer stay. Returns the removed ones."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*{suffix}"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if pid.isdigit() and int(pid) == os.getpid():
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def publish(tmp: Path, path: Path) -> Path:
    """Give the finished temporary file the umask's default mode and rename it to `path`; never
    after a SIGTERM or Ctrl-C (`xnet.errors.check_stopped`)."""
    from xnet.errors import check_stopped

    check_stopped()
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
    return path


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """`write(tmp)` into a temporary file beside `path`, published as `path` once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    try:
        write(tmp)
        return publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: dict) -> Path:
    return atomic_write(Path(path), lambda tmp: tmp.write_text(json.dumps(payload, indent=2)))


#: the most bytes xnet reads from a file it wrote, by kind: far above what it writes (a 30-30 MLP's
#: checkpoint is ~100 kB plus its ids, ~30 MB for a million training rows), far below what a
#: symbolic link to /dev/zero or a wrong file would make it read
READ_LIMITS = {
    "checkpoint": 1 << 30,
    "metrics.json": 64 << 20,
    "config": 16 << 20,
    "figure index": 1 << 20,
    "figure": 64 << 20,
}


def check_readable(path: Path, kind: str) -> int:
    """The size of `path`, a file xnet wrote of `kind` (`READ_LIMITS`); one line (XnetError) when
    it is not a regular file (a device such as /dev/zero, a pipe) or is larger than such a file
    can be."""
    from xnet.errors import XnetError

    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise XnetError(f"{path}: not a regular file (a device, pipe or socket); not a {kind}")
    limit = READ_LIMITS[kind]
    if info.st_size > limit:
        raise XnetError(
            f"{path}: {info.st_size:,} bytes, more than a {kind} written by xnet can be "
            f"({limit:,}); not read"
        )
    return info.st_size


def read_bounded(path: Path, kind: str) -> bytes:
    """The bytes of `path` (`check_readable` first; never more than its limit)."""
    check_readable(path, kind)
    with open(path, "rb") as handle:
        return handle.read(READ_LIMITS[kind])


def sha256_bounded(path: Path, kind: str = "checkpoint") -> str:
    """SHA-256 of `path`, read in blocks, at most its kind's limit (`check_readable`)."""
    check_readable(path, kind)
    digest, left = hashlib.sha256(), READ_LIMITS[kind]
    with open(path, "rb") as handle:
        while left > 0:
            block = handle.read(min(1 << 20, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def path_inside(folder: Path, name) -> Path | None:
    """`folder / name` for a `name` read from a file's content (an index, metrics.json) that stays
    inside `folder`: a relative path without `..`; None for anything else (an absolute path,
    `../../elsewhere/file`, not text), so that a damaged or hostile index never reaches outside."""
    if not isinstance(name, str) or not name or "\0" in name:
        return None
    pure = PurePath(name)
    if pure.anchor or ".." in pure.parts or "\\" in name:
        return None
    return Path(folder) / pure


def os_reason(err: OSError) -> str:
    """An OS error in a message: its text and number (`No space left on device [Errno 28]`)."""
    reason = err.strerror or str(err) or type(err).__name__
    return reason + (
        f" [Errno {err.errno}]" if err.errno and f"errno {err.errno}" not in reason.lower() else ""
    )
