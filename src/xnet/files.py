"""Writing files safely: into a hidden temporary file beside the target, renamed into place only
once complete, with a new file's usual permissions (the umask's, not mkstemp's private 0600).

Every output xnet writes goes through here: metrics.json, checkpoints, prediction tables and
downloaded catalogs. An interrupted write never leaves a partial or clobbered file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


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
    """Give the finished temporary file the umask's default mode and rename it to `path`."""
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
