"""Emotion-aware masking (EM): frame RMS energy, frame selection, and masks on features or waveforms.

Frames follow lhotse/Kaldi fbank with ``snip_edges=False``: frame ``t`` is centred on sample
``t * hop + hop / 2``, and ``N`` samples give ``(N + hop // 2) // hop`` frames, so RMS frames line up
with the stored fbank frames one to one.
"""

from __future__ import annotations

import numpy as np

from embspace.emotion.config import EMOptions


def num_frames_of(num_samples: int, hop: int) -> int:
    """Frames of a signal of ``num_samples`` (fbank with ``snip_edges=False``)."""
    return (num_samples + hop // 2) // hop


def frame_rms(x: np.ndarray, sampling_rate: int = 16000, win_ms: float = 25.0, hop_ms: float = 10.0) -> np.ndarray:
    """RMS of each ``win_ms`` frame every ``hop_ms`` (float32, one value per fbank frame)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    hop, win = round(sampling_rate * hop_ms / 1000), round(sampling_rate * win_ms / 1000)
    n = num_frames_of(len(x), hop)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    left = win // 2 - hop // 2  # so that frame t starts at t * hop - left
    padded = np.pad(x, (left, win + hop), mode="reflect" if len(x) > win + hop else "constant")
    sq = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    starts = np.arange(n) * hop
    energy = (sq[starts + win] - sq[starts]) / win
    return np.sqrt(np.maximum(energy, 0.0)).astype(np.float32)


def fbank_energy(feats: np.ndarray) -> np.ndarray:
    """A frame-energy proxy from log-mel features: the square root of the summed mel power."""
    feats = np.asarray(feats, dtype=np.float64)
    peak = feats.max(axis=1, keepdims=True)
    log_power = peak[:, 0] + np.log(np.exp(feats - peak).sum(axis=1))
    return np.exp(0.5 * log_power).astype(np.float32)


def select_frames(energy: np.ndarray, opts: EMOptions) -> np.ndarray:
    """Boolean mask of the frames to hide: the top (or bottom) ``ratio`` of ``energy``, or those beyond
    ``mean ± k_std * std``; each selected frame widened to ``span`` frames."""
    e = np.asarray(energy, dtype=np.float64)
    n = len(e)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    sign = 1.0 if opts.mask_target == "high" else -1.0
    if opts.select == "top_ratio":
        k = max(1, int(round(opts.ratio * n)))
        mask[np.argsort(-sign * e, kind="stable")[:k]] = True
    else:
        mask = sign * (e - e.mean()) > opts.k_std * e.std()
    if opts.span > 1 and mask.any():
        half = opts.span // 2
        kernel = np.ones(opts.span, dtype=int)
        mask = np.convolve(mask.astype(int), kernel, mode="full")[half:half + n] > 0
    return mask


def mask_features(feats: np.ndarray, mask: np.ndarray, fill: str = "mean") -> np.ndarray:
    """A copy of ``feats [T, F]`` with the ``mask`` frames replaced: ``mean`` (the crop's mean frame, i.e.
    0 after mean normalisation), ``zero`` (raw zeros) or ``floor`` (the per-bin minimum, silence-like)."""
    out = np.array(feats, dtype=np.float32, copy=True)
    if not mask.any():
        return out
    if fill == "mean":
        out[mask] = feats.mean(axis=0)
    elif fill == "floor":
        out[mask] = feats.min(axis=0)
    elif fill == "zero":
        out[mask] = 0.0
    else:
        raise ValueError(f"unknown fill '{fill}'")
    return out


def mask_waveform(x: np.ndarray, mask: np.ndarray, hop: int) -> np.ndarray:
    """A copy of ``x`` with the hop-long stretch of every masked frame set to zero."""
    out = np.array(x, dtype=np.float32, copy=True)
    for t in np.flatnonzero(mask):
        out[t * hop:(t + 1) * hop] = 0.0
    return out
