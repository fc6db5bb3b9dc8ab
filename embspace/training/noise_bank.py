"""Generated stand-ins for MUSAN on corpora without one: coloured noise and tonal "music".

Both are in-memory lhotse Recordings (like the synthetic RIR bank), deterministic for a seed.
The "music" is a sequence of chords of harmonic tones with attack/decay envelopes and a little
vibrato: stationary enough to mask speech, tonal enough to differ from noise.
"""

from __future__ import annotations

import numpy as np
from lhotse import Recording

from embspace.signal.noise import NOISE_TYPES, coloured_noise
from embspace.training.rir import in_memory_recording


def generated_noise_bank(num: int = 30, seed: int = 0, seconds: float = 8.0, sampling_rate: int = 16000,
                         kinds: tuple[str, ...] = NOISE_TYPES) -> list[Recording]:
    """``num`` unit-power noises, colours taken in turn from ``kinds``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sampling_rate)
    return [in_memory_recording(0.1 * coloured_noise(n, kinds[i % len(kinds)], rng), sampling_rate,
                                f"generated-noise-{kinds[i % len(kinds)]}-{i:03d}") for i in range(num)]


def tonal_music(rng: np.random.Generator, seconds: float = 8.0, sampling_rate: int = 16000) -> np.ndarray:
    """One piece: chords of 1-3 notes (MIDI 45-84), 0.15-0.6 s each, 6 harmonics, peak 0.5."""
    n = int(seconds * sampling_rate)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        length = min(int(rng.uniform(0.15, 0.6) * sampling_rate), n - pos)
        t = np.arange(length) / sampling_rate
        env = np.minimum(1.0, t / 0.01) * np.exp(-t / rng.uniform(0.1, 0.8))
        for note in rng.integers(45, 85, size=int(rng.integers(1, 4))):
            f0 = 440.0 * 2.0 ** ((note - 69) / 12.0)
            phase = 2 * np.pi * f0 * (t + 0.002 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
            for h in range(1, 7):
                if h * f0 < sampling_rate / 2:
                    out[pos:pos + length] += env * np.sin(h * phase) * rng.uniform(0.3, 1.0) / h
        pos += length
    return (0.5 * out / max(np.abs(out).max(), 1e-9)).astype(np.float32)


def tonal_music_bank(num: int = 30, seed: int = 0, seconds: float = 8.0, sampling_rate: int = 16000) -> list[Recording]:
    """``num`` tonal pieces as in-memory Recordings."""
    rng = np.random.default_rng(seed)
    return [in_memory_recording(tonal_music(rng, seconds, sampling_rate), sampling_rate, f"tonal-music-{i:03d}")
            for i in range(num)]
