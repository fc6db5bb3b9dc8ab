"""Kaldi ``wav.scp`` pipes (``cmd |``), run the safe way.

lhotse runs the command of an ``AudioSource`` of type ``command`` itself, with ``/bin/sh``, the
terminal's stdin, no time limit and no look at the exit status, so a command that waits for input
hangs and the cause of a failure in ``a | b`` is lost. Here a pipe runs under ``bash -o pipefail``
(any failing part fails it, as in Kaldi), with stdin from ``/dev/null``, in its own process group
that is killed after ``EMBSPACE_PIPE_TIMEOUT`` seconds (default 600; ``0``: no limit), and a failure
is reported with the exit status and the command's last lines of stderr. Every place embspace
reads audio itself goes through :func:`load_audio`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import TYPE_CHECKING

import numpy as np

from embspace.utils.errors import DataError

if TYPE_CHECKING:  # lhotse is imported where it is used: audio-check workers start light
    from lhotse.cut import Cut

#: default time limit of one pipe, in seconds (``EMBSPACE_PIPE_TIMEOUT`` overrides it)
DEFAULT_TIMEOUT = 600.0
#: stderr lines of a failed command quoted in the error
STDERR_LINES = 3


class PipeError(Exception):
    """A pipe failed, timed out or wrote nothing; the message is one line with the cause."""


def pipe_timeout() -> float | None:
    """The time limit of a pipe: ``EMBSPACE_PIPE_TIMEOUT`` seconds, :data:`DEFAULT_TIMEOUT` when unset; ``None``: none."""
    value = os.environ.get("EMBSPACE_PIPE_TIMEOUT", "").strip()
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise PipeError(f"EMBSPACE_PIPE_TIMEOUT must be a number of seconds, got '{value}'") from None
    return seconds if seconds > 0 else None


def _stderr_tail(err: bytes) -> str:
    lines = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
    return " / ".join(lines[-STDERR_LINES:])


def run_pipe(command: str, timeout: float | None = -1.0) -> bytes:
    """What ``command`` (a ``wav.scp`` pipe without its ``|``) writes to stdout.

    ``timeout``: seconds (``None``: no limit; the default: :func:`pipe_timeout`). A non-zero exit
    status of any part of the pipe, a timeout or no output at all is a :class:`PipeError`.
    """
    if timeout is not None and timeout < 0:
        timeout = pipe_timeout()
    shell = shutil.which("bash")
    argv = [shell, "-o", "pipefail", "-c", command] if shell else ["/bin/sh", "-c", command]
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PipeError(f"command did not finish within {timeout:g} s (EMBSPACE_PIPE_TIMEOUT)") from None
    tail = _stderr_tail(err)
    if proc.returncode != 0:
        raise PipeError(f"command failed with exit code {proc.returncode}" + (f": {tail}" if tail else ""))
    if not out:
        raise PipeError("the command wrote no audio (0 bytes)" + (f"; its stderr: {tail}" if tail else ""))
    return out


def with_pipes_run(cut: Cut) -> Cut:
    """``cut`` with the audio of every ``command`` source run by :func:`run_pipe` and held in memory
    (lhotse then decodes it like a file); cuts without pipes are returned as they are. A failed pipe
    is a DataError naming the recording and the command."""
    from lhotse import AudioSource
    from lhotse.cut import MixedCut
    from lhotse.utils import fastcopy

    if isinstance(cut, MixedCut):
        return fastcopy(cut, tracks=[fastcopy(t, cut=with_pipes_run(t.cut)) for t in cut.tracks])
    rec = getattr(cut, "recording", None)
    if rec is None or all(s.type != "command" for s in rec.sources):
        return cut
    sources = []
    for s in rec.sources:
        if s.type == "command":
            try:
                s = AudioSource(type="memory", channels=s.channels, source=run_pipe(s.source))
            except PipeError as e:
                raise DataError(f"wav.scp pipe '{s.source} |': {e}", key=rec.id) from None
        sources.append(s)
    return fastcopy(cut, recording=fastcopy(rec, sources=sources))


def load_audio(cut: Cut) -> np.ndarray:
    """``cut.load_audio()``, with ``wav.scp`` pipes run by :func:`run_pipe`."""
    return with_pipes_run(cut).load_audio()
