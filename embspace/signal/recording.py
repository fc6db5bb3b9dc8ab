"""Simulated recording of clean speech: sessions (channel band limits and tilt, a noise colour),
padding, level and noise at an SNR. Used by the synthetic corpora and by methods that record new
synthetic speakers the way those corpora record theirs (:func:`record_speaker`)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from embspace.signal.noise import NOISE_TYPES, SAMPLE_RATE, active_power, coloured_noise, fir_from_db, log2_rel, peak_limit
from embspace.utils.errors import DataError


@dataclass
class Session:
    """A recording condition: channel band limits and tilt, and a noise colour."""

    session: int
    low_cut_hz: float
    high_cut_hz: float  # >= 7600 means no low-pass
    tilt_db_per_octave: float
    noise: str


@dataclass(frozen=True)
class RecordingOptions:
    """Ranges :func:`record_speaker` draws from (the defaults are those of the mini corpus)."""

    sessions: tuple[int, int] = (2, 3)  # sessions per speaker (min, max)
    snr_db: tuple[float, float] = (5.0, 30.0)  # per-utterance SNR range
    noise_types: tuple[str, ...] = NOISE_TYPES  # one per session
    pad_s: tuple[float, float] = (0.05, 0.3)  # silence added before and after the speech


def draw_session(rng: random.Random, number: int, noise_types: Sequence[str] = NOISE_TYPES) -> Session:
    """A random recording condition: band limits (half of them wideband), tilt and a noise colour."""
    wideband = rng.random() < 0.5
    return Session(
        session=number,
        low_cut_hz=round(rng.uniform(50.0, 300.0), 1),
        high_cut_hz=8000.0 if wideband else round(rng.uniform(3400.0, 7000.0), 1),
        tilt_db_per_octave=round(rng.uniform(-2.0, 2.0), 2),
        noise=rng.choice(noise_types),
    )


def session_fir(sess: Session) -> np.ndarray:
    """The channel: 2nd-order-like high-pass, optional 4th-order-like low-pass, tilt."""
    def db(f: np.ndarray) -> np.ndarray:
        f = np.maximum(f, 1.0)
        out = -10.0 * np.log10(1.0 + (sess.low_cut_hz / f) ** 4) + sess.tilt_db_per_octave * log2_rel(f, 1000.0)
        if sess.high_cut_hz < 7600.0:
            out = out - 10.0 * np.log10(1.0 + (f / sess.high_cut_hz) ** 8)
        return out
    return fir_from_db(db)


def place(speech: np.ndarray, sess: Session, pad_before_s: float, pad_after_s: float, gain_db: float = 0.0,
          level_dbfs: float = -26.0, key: str | None = None) -> np.ndarray:
    """``speech`` through the session's channel, padded with silence, at ``level_dbfs`` + ``gain_db``
    (active level); float64, no noise yet. Silent speech is a DataError naming ``key``."""
    speech = np.convolve(np.asarray(speech, dtype=np.float64), session_fir(sess), mode="same")
    pad = np.zeros(round(pad_before_s * SAMPLE_RATE)), np.zeros(round(pad_after_s * SAMPLE_RATE))
    speech = np.concatenate([pad[0], speech, pad[1]])
    p = active_power(speech)
    if not p > 0:
        raise DataError("silent speech cannot be recorded at a given level", key=key)
    return speech * (10.0 ** ((level_dbfs + gain_db) / 20.0) / math.sqrt(p))


def session_noise(speech: np.ndarray, sess: Session, colour: str, snr: float, seed: int) -> np.ndarray:
    """Noise of ``colour`` (seeded by ``seed``) through the session's channel, at ``snr`` dB below ``speech``."""
    noise = coloured_noise(len(speech), colour, np.random.default_rng(seed))
    noise = np.convolve(noise, session_fir(sess), mode="same")  # the channel colours the noise too
    return noise * math.sqrt(active_power(speech) / 10.0 ** (snr / 10.0) / np.mean(noise ** 2))


def record_speaker(speeches: Sequence[np.ndarray], rng: random.Random,
                   opts: RecordingOptions | None = None) -> list[np.ndarray]:
    """Record the clean utterances of one speaker: a random number of sessions (``opts.sessions``)
    with their own channel and noise colour, utterances dealt to them in turn, each with its own SNR
    and padding; all drawn from ``rng``. float32, peak below 1."""
    opts = opts or RecordingOptions()
    sessions = [draw_session(rng, k + 1, opts.noise_types) for k in range(rng.randint(*opts.sessions))]
    out = []
    for u, speech in enumerate(speeches):
        sess = sessions[u % len(sessions)]
        snr = round(rng.uniform(*opts.snr_db), 2)
        pad_before, pad_after = round(rng.uniform(*opts.pad_s), 3), round(rng.uniform(*opts.pad_s), 3)
        seed = rng.getrandbits(63)
        placed = place(speech, sess, pad_before, pad_after, key=f"u{u}")
        out.append(peak_limit(placed + session_noise(placed, sess, sess.noise, snr, seed)))
    return out
