"""Synthetic identities: ids, metadata records and conditioning vectors made from parent pairs.

An identity is one interpolated conditioning vector with a speaker id ``<prefix><gender>_<NNNNNN>``
(e.g. ``inside_m_000012``) and a record of how it was made: parents, their cosine and angle θ
(degrees), α, interpolation (slerp|lerp), pair mode, group, neighbour rank and a per-identity seed.
It inherits the gender of its group (``random_any``: of the parent it is closer to, ``a`` at
α = 0.5). The conditioning vectors may be of any shape (``(D,)`` speaker embeddings, or e.g. a
``(510, 256)`` style pack): they are flattened for interpolation and reshaped back.

Files: ``identities.jsonl`` (one record per line, sorted by id) and ``conditioning.npy``
(``(N, *shape)`` float32, rows in the order of ``identities.jsonl``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from embspace.data.tables import iter_jsonl
from embspace.inside.interp import lerp, slerp
from embspace.inside.pairing import ANY_GROUP, Pair
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

INTERPOLATIONS = {"slerp": slerp, "lerp": lerp}
DEFAULT_PREFIX = "inside_"


@dataclass(frozen=True)
class Identity:
    """One synthetic speaker and how it was made."""

    id: str
    gender: str
    parent_a: str
    parent_b: str
    cos: float
    theta_deg: float
    alpha: float
    interp: str
    mode: str
    group: str
    rank: int
    seed: int

    def to_json(self) -> dict:
        return asdict(self)


def identity_seed(seed: int, identity: str) -> int:
    """A 31-bit seed for one identity, stable across runs and independent of the others."""
    return int.from_bytes(hashlib.sha256(f"inside-{seed}-{identity}".encode()).digest()[:4], "little") & 0x7FFFFFFF


def check_prefix(prefix: str, real_ids: Iterable[str], source: object = None) -> None:
    """The synthetic namespace must be disjoint from the real one: a real speaker id that starts with
    ``prefix`` (and so could equal a synthetic id) is an error naming it."""
    if not prefix or any(c.isspace() for c in prefix):
        raise DataError("the identity prefix must be non-empty without whitespace", key=prefix)
    for spk in real_ids:
        if spk.startswith(prefix):
            raise DataError(f"real speaker id starts with the synthetic prefix '{prefix}' and could collide "
                            "with a synthetic id; choose another --prefix", source, key=spk)


def make_identities(pairs: Sequence[Pair], bank_ids: Sequence[str], bank: np.ndarray, mode: str,
                    interp: str = "slerp", alpha: float | tuple[float, float] = 0.5, seed: int = 0,
                    prefix: str = DEFAULT_PREFIX, rescale_norm: bool = False, real_ids: Iterable[str] = (),
                    genders: Mapping[str, str] | None = None,
                    source: object = None) -> tuple[list[Identity], np.ndarray]:
    """Interpolate the conditioning vectors (``bank``, rows named by ``bank_ids``) of each pair.

    ``alpha`` is fixed or a ``(low, high)`` range drawn uniformly per identity (seeded). The result
    has unit norm, or with ``rescale_norm`` the mean norm of the two parents' raw vectors (for a TTS
    that expects vectors of a given size). ``genders`` (speaker -> m|f) labels the children of
    ``random_any`` pairs. Returns the identities (sorted by id) and their vectors.
    """
    if interp not in INTERPOLATIONS:
        raise DataError(f"unknown interpolation (choose from {', '.join(INTERPOLATIONS)})", key=interp)
    real = set(real_ids) | set(bank_ids)
    check_prefix(prefix, real, source)
    index = {k: i for i, k in enumerate(bank_ids)}
    bank = np.asarray(bank, dtype=np.float32)
    if bank.ndim < 2 or bank.shape[0] != len(bank_ids):
        raise DataError(f"conditioning bank of shape {bank.shape} for {len(bank_ids)} ids", source)
    shape = bank.shape[1:]
    flat = bank.reshape(len(bank_ids), -1)
    missing = [p.a if p.a not in index else p.b for p in pairs if p.a not in index or p.b not in index]
    if missing:
        raise DataError("parent speaker has no conditioning vector", source, key=missing[0])
    rng = np.random.default_rng(seed)
    if isinstance(alpha, tuple):
        lo, hi = alpha
        if not 0.0 <= lo <= hi <= 1.0:
            raise DataError(f"alpha range must satisfy 0 <= low <= high <= 1, got {lo},{hi}", key="alpha_range")
        alphas = rng.uniform(lo, hi, size=len(pairs))
    else:
        if not 0.0 <= alpha <= 1.0:
            raise DataError(f"alpha must be in [0, 1], got {alpha}", key="alpha")
        alphas = np.full(len(pairs), float(alpha))
    a = flat[[index[p.a] for p in pairs]]
    b = flat[[index[p.b] for p in pairs]]
    for p, va, vb in zip(pairs, a, b):  # name the pair when its vectors cannot be interpolated
        if not (np.all(np.isfinite(va)) and np.any(va)) or not (np.all(np.isfinite(vb)) and np.any(vb)):
            raise DataError("zero or non-finite conditioning vector", source, key=p.a if not np.any(va) else p.b)
    try:
        out = np.asarray(INTERPOLATIONS[interp](a.astype(np.float64), b.astype(np.float64), alphas), dtype=np.float64)
    except DataError as e:
        row = _bad_row(a, b)
        raise DataError(f"{e}", source, key=f"{pairs[row].a}+{pairs[row].b}" if row is not None else None) from e
    if rescale_norm:
        out *= (0.5 * (np.linalg.norm(a, axis=1) + np.linalg.norm(b, axis=1)))[:, None]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    theta = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    counters: dict[str, int] = {}
    idents = []
    for n, p in enumerate(pairs):
        gender = p.group
        if p.group == ANY_GROUP:
            if genders is None:
                raise DataError("random_any pairs need the parents' genders", source)
            gender = genders[p.a] if alphas[n] <= 0.5 else genders[p.b]
        counters[gender] = counters.get(gender, 0) + 1
        ident = f"{prefix}{gender}_{counters[gender]:06d}"
        if ident in real:
            raise DataError("synthetic identity id collides with a real speaker id", source, key=ident)
        idents.append(Identity(ident, gender, p.a, p.b, round(float(cos[n]), 6), round(float(theta[n]), 4),
                               round(float(alphas[n]), 6), interp, mode, p.group, p.rank, identity_seed(seed, ident)))
    order = sorted(range(len(idents)), key=lambda i: idents[i].id)
    return [idents[i] for i in order], out[order].astype(np.float32).reshape((len(pairs),) + shape)


def _bad_row(a: np.ndarray, b: np.ndarray) -> int | None:
    """Index of the first pair that is (near) antipodal or zero, for error messages."""
    cos = np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
    bad = np.flatnonzero(cos <= -1.0 + 1e-6)
    return int(bad[0]) if len(bad) else None


def write_identities(out_dir: str | os.PathLike, identities: Sequence[Identity], conditioning: np.ndarray) -> None:
    """``identities.jsonl`` and ``conditioning.npy`` (written atomically; the jsonl last)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if len(identities) != len(conditioning):
        raise ValueError("one conditioning vector per identity")
    with atomic_path(out / "conditioning.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(conditioning, dtype=np.float32), allow_pickle=False)
    atomic_write_text(out / "identities.jsonl", "".join(json.dumps(i.to_json()) + "\n" for i in identities))


def read_identities(in_dir: str | os.PathLike) -> tuple[list[Identity], np.ndarray]:
    """Read what :func:`write_identities` wrote; a bad record names the file and line."""
    d = Path(in_dir)
    path = d / "identities.jsonl"
    idents: list[Identity] = []
    seen: set[str] = set()
    for n, obj in iter_jsonl(path):
        try:
            ident = Identity(**obj)
        except TypeError as e:
            raise DataError(f"not an identity record: {e}", path, n) from None
        if ident.id in seen:
            raise DataError("duplicate identity id", path, n, ident.id)
        seen.add(ident.id)
        idents.append(ident)
    cpath = d / "conditioning.npy"
    if not cpath.is_file():
        raise DataError("file not found", cpath)
    cond = np.load(cpath, allow_pickle=False)
    if cond.shape[0] != len(idents):
        raise DataError(f"{cond.shape[0]} conditioning vectors for {len(idents)} identities in {path}", cpath)
    return idents, cond
