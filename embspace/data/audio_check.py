"""Checks of audio files (or Kaldi ``cmd |`` pipes) before they enter a manifest: one parallel scanner.

Per file, :func:`probe_audio` checks that it exists and opens, is not empty, that its header is
readable and announces no more audio than the file holds (WAV: the ``data`` chunk size against
the bytes present, which libsndfile silently trims; FLAC/OGG and other libsndfile formats: the
last announced sample can be read), that a file of float samples (:data:`FLOAT_SUBTYPES`) holds
no NaN or infinite sample (every sample is read; integer PCM cannot hold such values and is not
scanned), and returns rate, channels and length. :func:`scan_audio`
probes many files in worker processes, applies an :class:`AudioPolicy` (sampling rate, or
resampling through lhotse; mono, or one chosen channel) and reports *every* bad file at once:
the count, and the first ten with their causes. Formats libsndfile cannot open (``.m4a``) are
probed through lhotse's audio backends (ffmpeg); for them no header/data check is possible.
"""

from __future__ import annotations

import io
import math
import os
import stat
import struct
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import soundfile as sf

from embspace.data.pipes import PipeError, run_pipe
from embspace.utils.errors import DataError

if TYPE_CHECKING:  # lhotse is imported where it is needed: worker processes start light
    from lhotse import Recording

#: bad files named in a scan report (all are counted)
MAX_LISTED = 10
#: WAV ``data`` sizes written by tools that stream to a pipe and cannot seek back to fix the header
_STREAMED_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000, 0x80000000}
_HINTS = {".m4a": "lhotse needs an ffmpeg-capable audio backend for .m4a (or convert to wav)"}


class AudioProblem(Exception):
    """The root cause of a bad audio file (one line)."""


class _Unrecognised(AudioProblem):
    """libsndfile cannot open the stream (another decoder may)."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(f"cannot read audio ({detail})")


@dataclass(frozen=True)
class AudioPolicy:
    """What a corpus accepts.

    ``sampling_rate``: the expected rate (``None``: any). ``resample``: files at another rate are
    resampled by lhotse when loaded instead of being rejected. ``channel``: which channel of a
    multi-channel file to use (``None``: files must be mono). ``any_channels``: keep every channel
    (room impulse responses, where lhotse picks the channel when it convolves).
    """

    sampling_rate: int | None = 16000
    resample: bool = False
    channel: int | None = None
    any_channels: bool = False
    #: where a scan writes the complete list of bad files (``where<TAB>cause`` lines; ``None``: nowhere)
    bad_list: str | None = None

    def problems(self, info: AudioInfo) -> list[str]:
        """Causes for which ``info`` breaks the policy (empty when it is fine)."""
        out = []
        if self.sampling_rate and info.sampling_rate != self.sampling_rate and not self.resample:
            out.append(f"sampling rate is {info.sampling_rate} Hz, expected {self.sampling_rate} Hz "
                       "(or convert with --resample)")
        if info.num_channels > 1 and not self.any_channels:
            if self.channel is None:
                out.append(f"{info.num_channels} channels, expected mono (choose one with --channel N)")
            elif self.channel >= info.num_channels:
                out.append(f"no channel {self.channel}: the file has {info.num_channels} channels "
                           f"(0-{info.num_channels - 1})")
        return out

    def channel_of(self, info: AudioInfo) -> int:
        """The channel a supervision of this file uses."""
        return self.channel if info.num_channels > 1 and self.channel is not None else 0


@dataclass(frozen=True)
class AudioInfo:
    """What the header (checked against the data) says."""

    sampling_rate: int
    num_channels: int
    num_samples: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sampling_rate


@dataclass(frozen=True)
class AudioItem:
    """One entry to check: ``source`` is a path, or a shell command writing audio (Kaldi ``cmd |``)."""

    key: str
    source: str
    is_command: bool = False
    line: int | None = None

    def where(self) -> str:
        """``line N: key 'k': source`` for a report."""
        prefix = f"line {self.line}: " if self.line is not None else ""
        return f"{prefix}key '{self.key}': {self.source}{' |' if self.is_command else ''}"


def _wav_data_check(f: BinaryIO, size: int) -> None:
    """Walk the RIFF chunks of a WAV; raise when the ``data`` chunk announces more bytes than follow."""
    f.seek(0)
    buf = f.read(4096)  # the chunks before 'data' are almost always in here
    if len(buf) < 12 or buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
        return  # RF64/BW64 or not WAV: libsndfile's own checks apply
    block_align = 0
    pos = 12
    while pos + 8 <= size:
        if pos + 22 <= len(buf):
            hdr, off = buf, pos
        else:  # a chunk header beyond the first block
            f.seek(pos)
            hdr, off = f.read(22), 0
        chunk, length = struct.unpack_from("<4sI", hdr, off)
        if chunk == b"fmt " and length >= 14 and off + 22 <= len(hdr):
            block_align = struct.unpack_from("<H", hdr, off + 20)[0]
        elif chunk == b"data":
            present = size - pos - 8
            if length > present and length not in _STREAMED_SIZES:
                if block_align:
                    raise AudioProblem(f"truncated: the header announces {length // block_align} samples, "
                                       f"the file holds {present // block_align}")
                raise AudioProblem(f"truncated: the header announces {length} data bytes, the file holds {present}")
            return
        pos += 8 + length + (length & 1)
    raise AudioProblem("truncated: no 'data' chunk in the WAV header")


def _last_sample_readable(f: sf.SoundFile) -> None:
    """Seek to the last announced sample and read it (FLAC/OGG...: catches a file cut short)."""
    try:
        f.seek(f.frames - 1)
        ok = len(f.read(1)) == 1
    except (RuntimeError, sf.LibsndfileError) as e:
        raise AudioProblem(f"truncated or corrupt: the header announces {f.frames} samples, "
                           f"the last cannot be read ({e})") from None
    if not ok:
        raise AudioProblem(f"truncated: the header announces {f.frames} samples, fewer can be read")


#: libsndfile subtypes that can hold NaN or infinite samples (PCM, A-law, ADPCM... cannot)
FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
#: frames read at a time by the sample scan
_SCAN_BLOCK = 1 << 16


def _finite_samples(snd: sf.SoundFile) -> None:
    """Read every sample of a float file; raise on the first NaN or infinite one (with its time)."""
    import numpy as np

    snd.seek(0)
    start = 0
    for block in snd.blocks(blocksize=_SCAN_BLOCK, dtype=snd.subtype.lower() == "double" and "float64" or "float32",
                            always_2d=True):
        bad = ~np.isfinite(block)
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            frame = start + row
            kind = "NaN" if np.isnan(block[row]).any() else "infinite"
            raise AudioProblem(f"NaN or infinite samples in {snd.subtype.lower()} audio: the first ({kind}) at "
                               f"sample {frame} ({frame / snd.samplerate:.3f} s)")
        start += len(block)


def _probe_stream(f: BinaryIO | str, size: int) -> AudioInfo:
    """Header checks of an audio file path or open stream of ``size`` bytes."""
    if isinstance(f, str):  # libsndfile reads a path in C; a Python stream goes through callbacks
        with open(f, "rb") as raw:
            _wav_data_check(raw, size)
    else:
        _wav_data_check(f, size)
        f.seek(0)
    try:
        snd = sf.SoundFile(f)
    except (RuntimeError, sf.LibsndfileError) as e:
        raise _Unrecognised(str(e).rsplit(": ", 1)[-1]) from None
    with snd:
        info = AudioInfo(snd.samplerate, snd.channels, snd.frames)
        if snd.format not in ("WAV", "WAVEX") and info.num_samples > 0:
            _last_sample_readable(snd)
        if snd.subtype in FLOAT_SUBTYPES and info.num_samples > 0:
            _finite_samples(snd)
    if info.num_samples <= 0:
        raise AudioProblem("no audio samples: empty apart from its header (0 frames)")
    return info


def _probe_with_lhotse(path: Path, sf_error: str) -> AudioInfo:
    """Formats libsndfile does not know (``.m4a``...): lhotse's backends (ffmpeg, audioread)."""
    from lhotse.audio.backend import info as lhotse_info

    try:
        i = lhotse_info(path)
    except Exception as e:  # noqa: BLE001 - any backend failure is the file's cause
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        hint = _HINTS.get(path.suffix.lower())
        raise AudioProblem(f"cannot read audio (libsndfile: {sf_error}; lhotse: {detail})"
                           + (f"; {hint}" if hint else "")) from None
    if i.frames <= 0:
        raise AudioProblem("no audio samples (0 frames)")
    return AudioInfo(int(i.samplerate), int(i.channels), int(i.frames))


def probe_audio(source: str, is_command: bool = False) -> AudioInfo:
    """Rate, channels and length of a file (or of what a command writes); AudioProblem with the cause."""
    if is_command:
        try:
            data = run_pipe(source)  # pipefail, stdin /dev/null, time limit, stderr in the cause
        except PipeError as e:
            raise AudioProblem(str(e)) from None
        return _probe_stream(io.BytesIO(data), len(data))
    path = Path(source)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioProblem("file not found") from None
    except OSError as e:
        raise AudioProblem(f"cannot access ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioProblem("not a regular file")
    if st.st_size == 0:
        raise AudioProblem("file is empty (0 bytes)")
    try:
        return _probe_stream(source, st.st_size)
    except OSError as e:  # opening it: permissions, I/O errors
        raise AudioProblem(f"cannot open ({e.strerror})") from None
    except _Unrecognised as e:
        if path.suffix.lower() in (".wav", ".flac"):
            raise
        return _probe_with_lhotse(path, e.detail)


def _probe_chunk(items: Sequence[AudioItem], policy: AudioPolicy) -> list[AudioInfo | str]:
    """Worker: probe each item; a string is the cause of a bad one."""
    out: list[AudioInfo | str] = []
    for item in items:
        try:
            info = probe_audio(item.source, item.is_command)
        except AudioProblem as e:
            out.append(str(e))
            continue
        problems = policy.problems(info)
        out.append("; ".join(problems) if problems else info)
    return out


def default_num_jobs() -> int:
    """Worker processes for a scan: the CPUs this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def probe_all(items: Sequence[AudioItem], policy: AudioPolicy, num_jobs: int | None = None,
              desc: str = "checking audio") -> tuple[dict[str, AudioInfo], list[tuple[AudioItem, str]]]:
    """``({key: info} of the good items, [(item, cause)] of the bad ones)``, in input order."""
    from tqdm import tqdm

    num_jobs = num_jobs or default_num_jobs()
    work = partial(_probe_chunk, policy=policy)
    results: list[AudioInfo | str] = []
    with tqdm(total=len(items), desc=desc, unit="file", disable=None, leave=False) as bar:
        if num_jobs == 1 or len(items) < 64:
            for i in range(0, len(items), 256):
                results += work(items[i:i + 256])
                bar.update(len(items[i:i + 256]))
        else:
            size = max(16, min(1000, math.ceil(len(items) / (8 * num_jobs))))
            chunks = [items[i:i + size] for i in range(0, len(items), size)]
            with ProcessPoolExecutor(num_jobs) as ex:
                for chunk, res in zip(chunks, ex.map(work, chunks)):
                    results += res
                    bar.update(len(chunk))
    good = {it.key: r for it, r in zip(items, results) if isinstance(r, AudioInfo)}
    bad = [(it, r) for it, r in zip(items, results) if isinstance(r, str)]
    return good, bad


def write_bad_list(bad: Sequence[tuple[AudioItem, str]], path: str | os.PathLike) -> None:
    """Every bad item, one ``where<TAB>cause`` line each, written atomically to ``path``."""
    from embspace.utils.atomic import atomic_write_text

    atomic_write_text(path, "".join(f"{item.where()}\t{cause}\n" for item, cause in bad))


def report_bad(bad: Sequence[tuple[AudioItem, str]], total: int, listing: object = None,
               bad_list: str | os.PathLike | None = None) -> None:
    """Raise one DataError counting every bad file and naming the first ``MAX_LISTED`` with their causes;
    with ``bad_list``, the complete list goes to that file (written even when there is none: empty)."""
    if bad_list is not None:
        write_bad_list(bad, bad_list)
    if not bad:
        return
    shown = bad[:MAX_LISTED]
    head = (f"{len(bad)} of {total} audio files failed the checks"
            + (f" (the first {len(shown)} below)" if len(bad) > len(shown) else "")
            + (f"; all of them are listed in {bad_list}" if bad_list is not None else "") + "; nothing was written")
    raise DataError(head + "".join(f"\n  {item.where()}: {cause}" for item, cause in shown), listing)


def scan_audio(items: Sequence[AudioItem], policy: AudioPolicy = AudioPolicy(), num_jobs: int | None = None,
               listing: object = None, desc: str = "checking audio") -> dict[str, AudioInfo]:
    """Probe every item (in parallel); ``{key: info}`` when all are good, else one DataError listing the bad.

    ``listing`` names the file that lists the items (metadata.jsonl, wav.scp) in the error.
    """
    good, bad = probe_all(items, policy, num_jobs, desc)
    report_bad(bad, len(items), listing, policy.bad_list)
    return good


def make_recording(item: AudioItem, info: AudioInfo, policy: AudioPolicy, recording_id: str | None = None) -> Recording:
    """The lhotse Recording of a checked item, every channel kept, resampled (lhotse transform) when the policy asks."""
    from lhotse import AudioSource, Recording

    rec = Recording(id=recording_id or item.key, sampling_rate=info.sampling_rate, num_samples=info.num_samples,
                    duration=info.duration,
                    sources=[AudioSource(type="command" if item.is_command else "file",
                                         channels=list(range(info.num_channels)), source=item.source)])
    if policy.resample and policy.sampling_rate and info.sampling_rate != policy.sampling_rate:
        rec = rec.resample(policy.sampling_rate)
    return rec
