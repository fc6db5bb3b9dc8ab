"""Cheap checks of audio files before they enter a manifest."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from embspace.utils.errors import DataError


def check_audio(path: str | Path, sampling_rate: int, key: str | None = None) -> float:
    """Return the duration of a readable, non-empty, mono-or-more file at ``sampling_rate``.

    Raises DataError naming the file (and utterance key) when the file is missing, unreadable,
    empty or at another sampling rate.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("audio file not found", path, key=key)
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as e:  # corrupt header, not audio
        raise DataError(f"cannot read audio ({e})", path, key=key) from None
    if info.frames <= 0:
        raise DataError("audio file is empty (0 samples)", path, key=key)
    if info.samplerate != sampling_rate:
        raise DataError(f"sampling rate is {info.samplerate} Hz, expected {sampling_rate} Hz", path, key=key)
    return info.frames / info.samplerate
