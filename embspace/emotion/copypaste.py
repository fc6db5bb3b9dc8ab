"""CopyPaste joins: pieces of a speaker's utterances (feature frames or samples) glued with a cross-fade.

Which pieces make a parallel pair is decided in :mod:`embspace.emotion.pairs`; here are the
arithmetic parts: piece lengths that fill an exact crop, random windows, and the join.
"""

from __future__ import annotations

import numpy as np


def piece_lengths(total: int, first_range: tuple[int, int], crossfade: int, rng: np.random.Generator) -> tuple[int, int]:
    """Lengths of two pieces that, joined with ``crossfade`` overlap, give exactly ``total``."""
    lo, hi = first_range
    first = int(rng.integers(lo, hi + 1))
    return first, total - first + crossfade


def window(x: np.ndarray, length: int, rng: np.random.Generator, start: int | None = None) -> tuple[np.ndarray, int]:
    """A ``length`` window of ``x`` along axis 0 (at ``start``, or a random one); a short ``x`` is tiled
    first. Returns the window and its start."""
    if len(x) == 0:
        raise ValueError("empty input")
    if len(x) < length:
        x = np.concatenate([x] * int(np.ceil(length / len(x))), axis=0)
    if start is None:
        start = int(rng.integers(0, len(x) - length + 1))
    start = min(start, len(x) - length)
    return x[start:start + length], start


def join(pieces: list[np.ndarray], crossfade: int = 0) -> np.ndarray:
    """Concatenate along axis 0, each join a linear cross-fade over ``crossfade`` items
    (output length = sum of lengths - crossfade x (pieces - 1))."""
    if not pieces:
        raise ValueError("nothing to join")
    out = np.asarray(pieces[0], dtype=np.float32)
    for nxt in pieces[1:]:
        nxt = np.asarray(nxt, dtype=np.float32)
        c = min(crossfade, len(out), len(nxt))
        if c == 0:
            out = np.concatenate([out, nxt], axis=0)
            continue
        w = ((np.arange(c) + 1.0) / (c + 1.0)).astype(np.float32).reshape((c,) + (1,) * (out.ndim - 1))
        mixed = out[-c:] * (1.0 - w) + nxt[:c] * w
        out = np.concatenate([out[:-c], mixed, nxt[c:]], axis=0)
    return out
