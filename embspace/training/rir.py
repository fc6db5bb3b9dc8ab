"""Synthetic room impulse responses without torchaudio.

lhotse's own synthetic generator (``FastRandomRIRGenerator``) needs torchaudio, which we do not
depend on, so this module builds a small bank of simple RIRs instead: a direct-path impulse, a few
sparse early reflections within 50 ms, and a late tail of Gaussian noise whose energy decays by
60 dB over a random T60. They are handed to lhotse's ``reverb_rir`` as in-memory recordings.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from lhotse import Recording


def synthetic_rir(rng: np.random.Generator, sampling_rate: int = 16000, t60_range: tuple[float, float] = (0.2, 0.8)) -> np.ndarray:
    """One impulse response, peak-normalised to 1."""
    t60 = float(rng.uniform(*t60_range))
    n = int(t60 * sampling_rate)
    t = np.arange(n) / sampling_rate
    tail = rng.standard_normal(n) * 10 ** (-3.0 * t / t60)  # amplitude -60 dB at t = T60
    delay = int(rng.uniform(0.001, 0.005) * sampling_rate)
    rir = np.zeros(n + delay, dtype=np.float64)
    rir[delay] = 1.0
    for _ in range(int(rng.integers(3, 8))):  # early reflections
        k = delay + int(rng.uniform(0.002, 0.05) * sampling_rate)
        rir[k] += float(rng.uniform(-0.6, 0.6))
    rir[delay:] += 0.2 * tail
    return (rir / np.abs(rir).max()).astype(np.float32)


def in_memory_recording(audio: np.ndarray, sampling_rate: int, recording_id: str) -> Recording:
    """A lhotse Recording holding ``audio`` (float WAV bytes), for banks of generated signals."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, dtype=np.float32), sampling_rate, format="WAV", subtype="FLOAT")
    return Recording.from_bytes(buf.getvalue(), recording_id=recording_id)


def rir_bank(num: int = 50, seed: int = 0, sampling_rate: int = 16000,
             t60_range: tuple[float, float] = (0.2, 0.8)) -> list[Recording]:
    """``num`` synthetic RIRs as in-memory lhotse Recordings (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    return [in_memory_recording(synthetic_rir(rng, sampling_rate, t60_range), sampling_rate, f"synthetic-rir-{i:03d}")
            for i in range(num)]
