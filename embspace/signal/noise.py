"""Coloured noise, linear-phase FIR filters from a dB curve, active speech level and peak limiting (16 kHz)."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
NOISE_TYPES = ("white", "pink", "brown")
EXTRA_NOISE_TYPES = ("blue", "violet")  # not used by the corpus design; for unseen-noise test conditions
_NOISE_SLOPES = {"pink": -0.5, "brown": -1.0, "blue": 0.5, "violet": 1.0}  # amplitude ∝ f^slope


def fir_from_db(db_of_hz, taps: int = 129, nfft: int = 1024, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Linear-phase FIR (odd ``taps``) whose magnitude follows ``db_of_hz(freqs)``."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    mag = 10.0 ** (np.asarray(db_of_hz(freqs), dtype=np.float64) / 20.0)
    h = np.fft.irfft(mag, nfft)
    h = np.roll(h, taps // 2)[:taps] * np.hanning(taps + 2)[1:-1]
    return h


def log2_rel(freqs: np.ndarray, ref: float) -> np.ndarray:
    """Octaves of ``freqs`` (floored at 50 Hz) above ``ref``."""
    return np.log2(np.maximum(freqs, 50.0) / ref)


def coloured_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-power white, pink (1/f power), brown (1/f^2), blue (f) or violet (f^2 power) noise."""
    if kind == "white":
        white = rng.standard_normal(n)
    else:  # shape white noise in the frequency domain, on a power-of-two length (fast FFT)
        if kind not in _NOISE_SLOPES:
            raise ValueError(f"unknown noise colour {kind!r}")
        m = 1 << max(n - 1, 1).bit_length()
        spec = np.fft.rfft(rng.standard_normal(m))
        f = np.maximum(np.fft.rfftfreq(m, 1.0 / SAMPLE_RATE), 20.0)
        spec *= f ** _NOISE_SLOPES[kind]
        white = np.fft.irfft(spec, m)[:n]
    white -= white.mean()
    return white / max(np.sqrt(np.mean(white ** 2)), 1e-12)


def active_power(x: np.ndarray, frame: int = 320, floor_db: float = -30.0) -> float:
    """Mean power of the frames within ``floor_db`` of the loudest frame (speech, not pauses)."""
    n = len(x) // frame
    if n == 0:
        return float(np.mean(x ** 2)) if len(x) else 0.0
    p = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    keep = p >= p.max() * 10.0 ** (floor_db / 10.0)
    return float(p[keep].mean())


def peak_limit(y: np.ndarray, peak: float = 0.99) -> np.ndarray:
    """``y`` scaled down to a peak of ``peak`` if louder, as float32."""
    top = np.abs(y).max()
    if top > peak:
        y = y * (peak / top)
    return y.astype(np.float32)
