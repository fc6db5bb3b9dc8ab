"""Interpolation between speaker embeddings on the unit hypersphere (SLERP) or along the chord (LERP).

Both accept numpy arrays or torch tensors of shape ``(D,)`` or ``(N, D)`` and ``alpha`` as a scalar
or an ``(N,)`` array; inputs are L2-normalised first and results have unit norm. ``alpha = 0``
gives ``a``, ``alpha = 1`` gives ``b``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embspace.utils.errors import DataError

#: below this angle (radians) SLERP falls back to the renormalised linear blend (exact in the limit)
SMALL_ANGLE = 1e-6
#: cosine at or below which two directions count as antipodal (the great circle is undefined)
ANTIPODAL_COS = -1.0 + 1e-6


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _as_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().double().numpy() if _is_torch(x) else np.asarray(x, dtype=np.float64)


def _unit(x: np.ndarray, what: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    bad = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)).reshape(-1))
    if len(bad):
        raise DataError(f"{what} has a zero or non-finite vector (row {int(bad[0])}); cannot interpolate")
    return x / norms


def _prepare(a: Any, b: Any, alpha: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    x, y = _as_numpy(a), _as_numpy(b)
    if x.shape != y.shape or x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise DataError(f"shapes must match and be (D,) or (N, D); got {x.shape} and {y.shape}")
    al = _as_numpy(alpha)
    if al.ndim > 1 or (al.ndim == 1 and (x.ndim != 2 or al.shape[0] != x.shape[0])):
        raise DataError(f"alpha must be a scalar or shaped (N,) = ({x.shape[0] if x.ndim == 2 else '-'},); got {al.shape}")
    if not np.all(np.isfinite(al)):
        raise DataError("alpha must be finite")
    return _unit(x, "a"), _unit(y, "b"), al, _is_torch(a)


def _finish(out: np.ndarray, like: Any) -> Any:
    out = out / np.linalg.norm(out, axis=-1, keepdims=True)
    if _is_torch(like):
        import torch

        return torch.as_tensor(out, dtype=like.dtype if like.is_floating_point() else torch.float32, device=like.device)
    return out.astype(np.asarray(like).dtype if np.issubdtype(np.asarray(like).dtype, np.floating) else np.float64)


def angle(a: Any, b: Any) -> np.ndarray:
    """Angle θ (radians) between ``a`` and ``b`` after L2 normalisation: a scalar or ``(N,)``."""
    x, y, _, _ = _prepare(a, b, 0.0)
    return np.arccos(np.clip(np.sum(x * y, axis=-1), -1.0, 1.0))


def slerp(a: Any, b: Any, alpha: Any = 0.5) -> Any:
    """Spherical linear interpolation: ``sin((1-α)θ)/sin θ · a + sin(αθ)/sin θ · b`` on unit vectors.

    Near θ = 0 it uses the renormalised linear blend (the exact limit). (Near-)antipodal pairs
    raise DataError: every great circle through them is equally short.
    """
    x, y, al, _ = _prepare(a, b, alpha)
    cos = np.clip(np.sum(x * y, axis=-1), -1.0, 1.0)
    if np.any(cos <= ANTIPODAL_COS):
        row = int(np.flatnonzero(np.atleast_1d(cos) <= ANTIPODAL_COS)[0])
        raise DataError(f"antipodal embeddings (row {row}, cosine {float(np.atleast_1d(cos)[row]):.6f}): "
                        "the great circle between them is undefined")
    theta = np.arccos(cos)
    sin = np.sin(theta)
    small = sin < SMALL_ANGLE
    safe = np.where(small, 1.0, sin)
    wa = np.where(small, 1.0 - al, np.sin((1.0 - al) * theta) / safe)
    wb = np.where(small, al, np.sin(al * theta) / safe)
    return _finish(wa[..., None] * x + wb[..., None] * y, a)


def lerp(a: Any, b: Any, alpha: Any = 0.5) -> Any:
    """Linear interpolation of the unit vectors, renormalised: ``normalise((1-α) a + α b)``."""
    x, y, al, _ = _prepare(a, b, alpha)
    out = (1.0 - al)[..., None] * x + al[..., None] * y if al.ndim else (1.0 - al) * x + al * y
    if np.any(np.linalg.norm(out, axis=-1) < 1e-9):
        raise DataError("the linear blend is (near) zero: antipodal embeddings at alpha 0.5")
    return _finish(out, a)
