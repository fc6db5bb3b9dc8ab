"""Kill-safe file writing: write under a temporary name in the same folder, then rename."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import IO, Iterator


def tmp_name(path: str | os.PathLike) -> Path:
    """A temporary sibling of ``path`` that keeps its suffixes (lhotse picks formats by suffix)."""
    path = Path(path)
    return path.with_name(f".tmp{os.getpid()}.{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it is renamed over ``path``, on error removed.

    Readers never see a half-written ``path``: either the old file or the whole new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_name(path)
    try:
        yield tmp
        if tmp.is_dir():
            if path.exists():
                shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing and rename it over ``path`` on close."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def make_tmp_dir(final: str | os.PathLike) -> Path:
    """Create an empty temporary folder beside ``final`` (for outputs renamed as a whole).

    Its mode follows the umask like any ``mkdir`` (``tempfile.mkdtemp`` would make it 0700, and the
    renamed output would stay unreadable to colleagues).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = final.parent / f".tmp.{final.name}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system or kernel cannot exchange
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in_dir(tmp: str | os.PathLike, final: str | os.PathLike) -> None:
    """Put the complete folder ``tmp`` in place of ``final`` as one unit, then remove the old one.

    Readers see the old folder or the new one, never a mix: on Linux the two are exchanged in one
    step; elsewhere the old folder is renamed aside first (a kill in between leaves ``final``
    missing, which a stage notices as a missing output, never a mixed folder).
    """
    tmp, final = Path(tmp), Path(final)
    if not final.exists():
        os.replace(tmp, final)
        return
    if _exchange(tmp, final):
        shutil.rmtree(tmp)
        return
    old = make_tmp_dir(final)
    os.rmdir(old)
    os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old)
