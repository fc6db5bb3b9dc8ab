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
