"""Which directories are xnet's, and which training holds one now.

xnet marks every run, sweep and job directory it trains into with a file `.xnet-run`, and holds
an exclusive lock on it (`fcntl.lockf`, taken without waiting) while the training runs. The lock
is the claim: the kernel grants it to one process only, atomically, and drops it when that process
ends, however it ends (kill -9 included), so a second training into a held directory is refused
and a dead one's claim never needs cleaning up. The marker outlives the run and says that xnet
wrote the folder; folders from before the marker count as xnet's when Hydra's `.hydra/` record
is in them. POSIX locks belong to the process (a forked helper does not hold them); every open
of the marker goes through `hold`, since closing any descriptor of a locked file drops the lock.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from xnet.errors import XnetError

MARKER = ".xnet-run"
#: directories this process holds: resolved path -> descriptor of the locked marker
_held: dict[str, int] = {}


def is_xnets(path: Path, sweep: bool = False) -> bool:
    """Whether xnet wrote `path`: its marker, or Hydra's record of a run (or of a sweep's job)."""
    path = Path(path)
    if (path / MARKER).exists() or (path / ".hydra" / "config.yaml").exists():
        return True
    return sweep and (
        (path / "multirun.yaml").exists()
        or any(path.glob(f"*/{MARKER}"))
        or any(path.glob("*/.hydra/config.yaml"))
    )


def foreign_entries(path: Path, sweep: bool, keep: Sequence[str] = ()) -> list[str]:
    """The entries of an existing folder that xnet did not create (empty for xnet's folders)."""
    path = Path(path)
    if not path.is_dir() or is_xnets(path, sweep):
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in (MARKER, *keep))


def hold(path: Path, key: str) -> bool:
    """Claim `path` (created if needed) for this process; True when the claim is new, False when
    this process held it already. Another live process's claim is one line naming it."""
    path = Path(path)
    name = str(path.resolve())
    if name in _held:
        return False
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / MARKER, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise XnetError(
            f"{key}={path}: in use by another training ({holder}); wait for it to end or choose "
            f"another directory ({key}=<new folder>)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"xnet.train pid {os.getpid()}\n".encode(), 0)
    _held[name] = fd
    return True


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): the marker alone
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EAGAIN):
            raise BlockingIOError(err.errno, err.strerror) from None
        # a file system without POSIX locks (ENOLCK, EOPNOTSUPP: some network mounts): the marker
        # alone, as without fcntl


def release(path: Path | None = None) -> None:
    """Give up this process's claim on `path` (all of them when None); the marker stays."""
    names = list(_held) if path is None else [str(Path(path).resolve())]
    for name in names:
        fd = _held.pop(name, None)
        if fd is not None:
            os.close(fd)
