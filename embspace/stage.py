"""Completion markers for recipe stages.

A stage is skipped when its marker exists, every declared output exists, and the fingerprint
(the command line plus the content of every declared input) is unchanged. The marker is written
only after the command succeeded, so a killed stage simply runs again; the commands themselves
write their outputs under temporary names and rename them when whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Sequence

from embspace.utils.atomic import atomic_write_text


def _hash_path(h: "hashlib._Hash", path: Path) -> None:
    """Feed a file's bytes, or a folder's file names and bytes, into ``h``."""
    if path.is_dir():
        for sub in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".tmp")):
            h.update(str(sub.relative_to(path)).encode())
            _hash_file(h, sub)
    elif path.is_file():
        _hash_file(h, path)
    else:
        h.update(b"<missing>")


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    _hash_file(h, Path(path))
    return h.hexdigest()


def fingerprint(command: Sequence[str], inputs: Sequence[str | os.PathLike]) -> str:
    """SHA-256 over the command line and the content of each input file or folder."""
    h = hashlib.sha256()
    h.update(json.dumps(list(command)).encode())
    for inp in inputs:
        h.update(b"\0" + str(inp).encode() + b"\0")
        _hash_path(h, Path(inp))
    return h.hexdigest()


def is_done(marker: str | os.PathLike, fp: str, outputs: Sequence[str | os.PathLike] = ()) -> bool:
    """True when ``marker`` records ``fp`` and every output exists."""
    marker = Path(marker)
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (json.JSONDecodeError, OSError):
        return False
    return recorded.get("fingerprint") == fp and all(Path(o).exists() for o in outputs)


def mark_done(marker: str | os.PathLike, fp: str, command: Sequence[str], elapsed: float) -> None:
    """Record a finished stage atomically."""
    info = {
        "fingerprint": fp,
        "command": list(command),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "elapsed_s": round(elapsed, 3),
    }
    atomic_write_text(marker, json.dumps(info, indent=1) + "\n")
