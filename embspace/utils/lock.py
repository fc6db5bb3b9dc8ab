"""One writer at a time: an exclusive, non-blocking lock file that names its holder.

Two processes writing the same output (two ``run.sh`` in one recipe folder, two ``compute_fbank``
into one ``--out-dir``) would interleave their files. The second one fails at once instead, with a
message naming the process that holds the lock. The lock is an ``flock`` on the file, so it is
released by the kernel when its holder dies (a SIGKILL leaves no stale lock). Standard library only:
``run_stage`` runs under ``python -S``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path
from collections.abc import Iterator


class LockBusy(Exception):
    """Another live process holds the lock."""


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "unknown process"


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` while the block runs; :class:`LockBusy` when it is taken.

    ``what`` names the output being protected, for the message. The file holds the holder's pid,
    host, start time and command line.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(f"{what} is being written by another process ({_holder(path)}); "
                           f"wait for it to finish or stop it (lock file {path})") from None
        info = (f"pid {os.getpid()} on {os.uname().nodename}, started {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                f"{' '.join(sys.argv)[:300]}\n")
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
