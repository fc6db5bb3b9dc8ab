"""Kill-safe file writing: write under a temporary name in the same folder, then rename."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time: every no-op recipe stage would pay for it
if TYPE_CHECKING:
    from typing import IO

from embspace.utils.errors import DataError


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
        try:
            yield tmp
        except OSError as e:
            if e.filename is None:  # a failed write (no space, quota, size limit) names no file: name the output
                raise OSError(e.errno, e.strerror or str(e), str(path)) from e
            raise
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


def _pid_of_tmp(name: str, final_name: str) -> int | None:
    """The process id in a temporary name of ``final_name`` (``.tmp<pid>.<name>`` or
    ``.tmp.<name>.<pid>.<hex>``), ``None`` when ``name`` is no such name."""
    if name.startswith(".tmp.") and name.startswith(f".tmp.{final_name}."):
        pid = name[len(f".tmp.{final_name}."):].split(".")[0]
    elif name.endswith(f".{final_name}") and name.startswith(".tmp"):
        pid = name[4:-len(final_name) - 1]
    else:
        return None
    return int(pid) if pid.isdigit() else None


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists (ours counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    """Delete a file or a folder tree (nothing there is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def clean_leftovers(final: str | os.PathLike) -> list[Path]:
    """Remove the temporary siblings of ``final`` left by killed runs (their process is gone); returns them."""
    final = Path(final)
    if not final.parent.is_dir():
        return []
    gone = []
    for p in final.parent.iterdir():
        pid = _pid_of_tmp(p.name, final.name)
        if pid is not None and not _running(pid):
            _remove(p)
            gone.append(p)
    return gone


def _put_in_place(tmp: Path | None, final: Path) -> None:
    """Rename ``tmp`` over ``final`` (``None``: delete ``final``); an old folder is first moved aside.

    Idempotent, so that an interrupted commit can be replayed: a ``tmp`` that is gone was renamed.
    """
    if tmp is not None and not (tmp.exists() or tmp.is_symlink()):
        return
    if final.is_dir() and not final.is_symlink() and (tmp is None or tmp.is_dir()):
        aside = final.with_name(f".tmp.{final.name}.{os.getpid()}.{secrets.token_hex(4)}")
        os.rename(final, aside)
        if tmp is not None:
            os.replace(tmp, final)
        shutil.rmtree(aside, ignore_errors=True)
    elif tmp is None:
        _remove(final)
    else:
        os.replace(tmp, final)


def finish_commit(journal: str | os.PathLike) -> bool:
    """Complete the renames of a commit that was interrupted (see :class:`OutputSet`); ``True`` if there was one.

    A commit still under way in another running process is an error (two runs write the same outputs).
    """
    journal = Path(journal)
    if not journal.is_file():
        return False
    record = json.loads(journal.read_text(encoding="utf-8"))
    if _running(record["pid"]) and record["pid"] != os.getpid():
        raise DataError(f"process {record['pid']} is replacing these outputs right now; wait for it", journal)
    for tmp, final in record["renames"]:
        _put_in_place(Path(tmp) if tmp is not None else None, Path(final))
    journal.unlink()
    return True


def pending_commit(journal: str | os.PathLike) -> bool:
    """Whether the renames of an :class:`OutputSet` are under way or were interrupted."""
    return Path(journal).is_file()


class OutputSet:
    """Outputs that must change together (the manifests and Kaldi dirs of every split of a corpus).

    Each is written under a temporary name beside its final one (:meth:`file`, :meth:`folder`);
    nothing final changes until :meth:`commit`, so a run that fails or is killed while writing leaves
    the old set (its temporary files are deleted on error, or by the next run when it was killed).
    :meth:`commit` writes the list of renames to ``journal`` (atomically), renames every output into
    place and deletes the journal. The only window in which outputs of two runs sit side by side is
    those renames; a run killed in it leaves the journal, the next ``OutputSet`` of that journal
    finishes the renames first, and :func:`pending_commit` lets readers refuse the set meanwhile.
    """

    def __init__(self, journal: str | os.PathLike):
        self.journal = Path(journal).absolute()
        self.entries: list[tuple[Path | None, Path]] = []

    def __enter__(self) -> OutputSet:
        clean_leftovers(self.journal)
        if finish_commit(self.journal):
            print(f"finished the interrupted commit of {self.journal}", file=sys.stderr)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.discard()

    def _add(self, tmp: Path | None, final: str | os.PathLike) -> Path:
        final = Path(final).absolute()
        if any(f == final for _, f in self.entries):
            raise ValueError(f"{final} is already an output of this set")
        clean_leftovers(final)
        self.entries.append((tmp, final))
        return final

    def file(self, final: str | os.PathLike) -> Path:
        """A temporary path (same folder, same suffixes) to write the file ``final`` to."""
        final = Path(final).absolute()
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_name(final)
        self._add(tmp, final)
        return tmp

    def folder(self, final: str | os.PathLike) -> Path:
        """A new empty temporary folder to fill in place of the folder ``final``."""
        tmp = make_tmp_dir(Path(final).absolute())
        try:
            self._add(tmp, final)
        except BaseException:
            tmp.rmdir()
            raise
        return tmp

    def remove(self, final: str | os.PathLike) -> None:
        """Delete ``final`` (a stale output of an earlier run) at commit time."""
        self._add(None, final)

    def commit(self) -> None:
        """Rename every output into place (see the class documentation)."""
        for tmp, _ in self.entries:
            if tmp is not None and not tmp.exists():
                raise FileNotFoundError(2, "output was not written", str(tmp))
        renames = [[str(t) if t else None, str(f)] for t, f in self.entries]
        atomic_write_text(self.journal, json.dumps({"pid": os.getpid(), "renames": renames}, indent=0))
        for tmp, final in self.entries:
            _put_in_place(tmp, final)
        self.journal.unlink()
        self.entries = []

    def discard(self) -> None:
        """Delete the temporary outputs not committed."""
        for tmp, _ in self.entries:
            if tmp is not None:
                _remove(tmp)
        self.entries = []
