"""Completion markers for recipe stages: a stage reruns when any byte it reads changes, and only then.

A stage is skipped when its marker exists, every declared output exists, and the fingerprint is
unchanged. The fingerprint is a SHA-256 over

* the command line, without the options that only say *how* to run and not *what* to compute
  (:data:`VOLATILE_OPTIONS`: ``--nj``, ``--cmd`` ...; their merged outputs do not depend on them);
* the **content** of every declared input (``--inputs``): a file's bytes; a folder's file names and
  bytes; for a Kaldi ``.scp`` file also what its lines point to, since the scp itself does not
  change when the vectors do: the bytes of every ark behind ``key file.ark:offset`` lines, and the
  size/mtime signature of every plain file behind ``key path`` lines (the audio of a ``wav.scp``);
  the files named inside a pipe command (``key sox a.flac -t wav - |``) are plain files too;
* a cheap **signature** of the inputs declared with ``--stat-inputs``: relative name, size and
  modification time of each file (for large audio trees, where hashing every byte on every no-op
  rerun would be slow).

A declared input that does not exist is an error (:class:`MissingInput`): a typo in ``--inputs``
would otherwise give a constant fingerprint, and the stage would never rerun.

Content digests are cached per file under its (size, mtime, ctime, inode), so an unchanged input
costs one ``stat`` on a rerun; a rewritten file (new mtime or inode) is hashed again.

The marker is written only after the command succeeded, so a killed stage simply runs again; the
commands themselves write their outputs under temporary names and rename them when whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import stat as statmod
import sys
import time
from collections.abc import Iterator, Sequence  # not typing, dataclasses: every no-op stage pays their import
from pathlib import Path

from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

#: options (with their value) left out of a fingerprint: they choose parallelism or a launcher, not a result
VOLATILE_OPTIONS = ("--nj", "--cmd", "--max-jobs-run", "--num-threads")

_SCP_LOCATION = re.compile(r"^(?P<path>.+?):(?P<offset>\d+)$")


def _hash_file(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    _hash_file(h, Path(path))
    return h.hexdigest()


class DigestCache:
    """File digests remembered under ``(size, mtime_ns, ctime_ns, inode)`` in a small JSON file."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path else None
        self.entries: dict[str, list] = {}
        self.dirty = False
        if self.path is not None and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def digest(self, path: Path, st: os.stat_result | None = None) -> str:
        """SHA-256 of ``path``'s bytes, from the cache when its stat signature (``st``, if already taken) is unchanged."""
        st = st or path.stat()
        sig = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        key = str(path.resolve())
        hit = self.entries.get(key)
        if hit is not None and hit[:4] == sig:
            return hit[4]
        sha = file_sha256(path)
        self.entries[key] = sig + [sha]
        self.dirty = True
        return sha

    def save(self) -> None:
        """Write the cache back (atomically; entries of files that no longer exist are dropped)."""
        if self.path is None or not self.dirty:
            return
        live = {k: v for k, v in self.entries.items() if os.path.exists(k)}
        atomic_write_text(self.path, json.dumps(live, separators=(",", ":")) + "\n")
        self.dirty = False


def _files_below(folder: Path) -> list[tuple[str, os.stat_result]]:
    """``(relative path, stat)`` of the files of a folder input, in path order (one ``stat`` per file; symlinked
    folders are not entered); temporary files and lock files are not content."""
    out = []
    for top, _, names in os.walk(folder):
        rel_top = os.path.relpath(top, folder)
        for name in names:
            if name.startswith(".tmp") or name.endswith(".lock"):
                continue
            try:
                st = os.stat(os.path.join(top, name))
            except FileNotFoundError:  # a dangling link, or removed meanwhile
                continue
            if statmod.S_ISREG(st.st_mode):
                out.append((name if rel_top == "." else os.path.join(rel_top, name), st))
    out.sort(key=lambda item: item[0].split(os.sep))  # the order of the paths' parts
    return out


class MissingInput(Exception):
    """A declared input of a stage does not exist (a typo would otherwise make the stage never rerun)."""


def _pipe_files(command: str) -> list[str]:
    """Files named in a piped ``wav.scp`` entry (``sox a.flac -t wav - |``): every word that is a file."""
    try:
        words = shlex.split(command.rstrip().removesuffix("|"))
    except ValueError:  # unbalanced quotes: fall back to whitespace
        words = command.rstrip().removesuffix("|").split()
    return [w for w in words if not w.startswith("-") and os.path.isfile(w)]


def scp_targets(scp: Path) -> list[tuple[Path, bool]]:
    """Files referenced by a Kaldi scp, in first-seen order, each with ``True`` for an ark
    (``key file.ark:offset``) and ``False`` for a plain file (``key path``, e.g. audio).

    For a pipe command (``key sox a.flac -t wav - |``), the files named in the command are plain
    files (the command text itself is part of the scp's bytes). Locations that are not files are
    skipped; relative paths are taken from the current directory, as Kaldi tools do. A line that is
    not UTF-8 is a :class:`DataError` naming the scp and the line.
    """
    seen: dict[str, bool] = {}
    with open(scp, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"not UTF-8 text ({e.reason}: byte 0x{raw[e.start]:02x} at column {e.start + 1})",
                                scp, n) from None
            fields = line.split(None, 1)
            if len(fields) != 2:
                continue
            loc = fields[1].strip()
            if loc.endswith("|"):
                for target in _pipe_files(loc):
                    seen.setdefault(target, False)
                continue
            m = _SCP_LOCATION.match(loc)
            target = m.group("path") if m else loc
            if target not in seen and os.path.isfile(target):
                seen[target] = m is not None
    return [(Path(p), is_ark) for p, is_ark in seen.items()]


def strip_volatile(command: Sequence[str], volatile: Sequence[str] = VOLATILE_OPTIONS) -> list[str]:
    """``command`` without the volatile options and their values (``--nj 4`` and ``--nj=4`` forms)."""
    out: list[str] = []
    skip = False
    for tok in command:
        if skip:
            skip = False
            continue
        name = tok.split("=", 1)[0]
        if name in volatile:
            skip = "=" not in tok
            continue
        out.append(tok)
    return out


def _content_records(inp: Path, cache: DigestCache) -> Iterator[str]:
    if inp.is_dir():
        for rel, st in _files_below(inp):
            yield f"{rel}={cache.digest(inp / rel, st)}"
    elif inp.is_file():
        yield cache.digest(inp)
        if inp.suffix == ".scp":
            for target, is_ark in scp_targets(inp):
                yield f"{target}={cache.digest(target)}" if is_ark else f"{target}:{_stat_signature(target)}"
    else:
        raise MissingInput(f"declared input does not exist: {inp}")


def _stat_signature(path: Path, st: os.stat_result | None = None) -> str:
    st = st or path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _stat_records(inp: Path) -> Iterator[str]:
    if not inp.exists():
        raise MissingInput(f"declared input does not exist: {inp}")
    files = _files_below(inp) if inp.is_dir() else [(inp.name, inp.stat())]
    if not files:
        yield "<empty>"
    for name, st in files:
        yield f"{name}:{_stat_signature(inp, st)}"


def fingerprint(command: Sequence[str], inputs: Sequence[str | os.PathLike] = (),
                stat_inputs: Sequence[str | os.PathLike] = (), cache: DigestCache | None = None,
                volatile: Sequence[str] = VOLATILE_OPTIONS) -> str:
    """SHA-256 over the command line (volatile options removed), input contents and input signatures."""
    cache = cache or DigestCache(None)
    h = hashlib.sha256()
    h.update(json.dumps(strip_volatile(command, volatile)).encode())
    for inp in inputs:
        h.update(b"\0content\0" + str(inp).encode() + b"\0")
        for rec in _content_records(Path(inp), cache):
            h.update(rec.encode() + b"\n")
    for inp in stat_inputs:
        h.update(b"\0stat\0" + str(inp).encode() + b"\0")
        for rec in _stat_records(Path(inp)):
            h.update(rec.encode() + b"\n")
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


class Stage:
    """A recipe step under a completion marker: what ``embspace.bin.run_stage`` is told."""

    def __init__(self, marker: str, command: list[str], inputs: Sequence[str] = (), stat_inputs: Sequence[str] = (),
                 outputs: Sequence[str] = (), volatile: Sequence[str] = VOLATILE_OPTIONS, reset: Sequence[str] = (),
                 force: bool = False, name: str = "") -> None:
        self.marker, self.command, self.inputs, self.stat_inputs = marker, command, inputs, stat_inputs
        self.outputs, self.volatile, self.reset, self.force, self.name = outputs, volatile, reset, force, name

    def done(self, cache: DigestCache) -> bool:
        """The marker records the current fingerprint and every output exists (the cache is saved)."""
        fp = fingerprint(self.command, self.inputs, self.stat_inputs, cache, self.volatile)
        cache.save()
        return is_done(self.marker, fp, self.outputs)

    def run(self, cache: DigestCache) -> int:
        """Skip, or run the command and write the marker; the caller holds the stage's lock. The exit status."""
        name = self.name or self.marker
        fp = fingerprint(self.command, self.inputs, self.stat_inputs, cache, self.volatile)
        cache.save()
        if not self.force and is_done(self.marker, fp, self.outputs):  # done by the process that held the lock
            print(f"[{name}] already done with the same inputs and options; skipping", file=sys.stderr)
            return 0
        if self.reset and os.path.isfile(self.marker):
            why = "forced to rerun" if self.force else "inputs or options changed since the last run"
            for path in self.reset:
                if os.path.isdir(path):
                    print(f"[{name}] {why}; removing {path}", file=sys.stderr)
                    shutil.rmtree(path)
        # The old marker goes before the command starts: a run killed part-way (forced or not) must not
        # be taken for done by the next call, even if its fingerprint happens to match again.
        if os.path.lexists(self.marker):
            os.unlink(self.marker)
        import subprocess  # here, not at the top: a stage that is skipped never needs it

        start = time.time()
        rc = subprocess.call(self.command)
        if rc != 0:
            print(f"[{name}] failed with exit code {rc}", file=sys.stderr)
            return rc
        missing = [o for o in self.outputs if not os.path.exists(o)]
        if missing:
            print(f"[{name}] finished but did not produce: {' '.join(missing)}", file=sys.stderr)
            return 1
        mark_done(self.marker, fp, self.command, time.time() - start)
        return 0
