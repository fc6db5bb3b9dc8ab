"""How well Kokoro follows its style space, measured in GE2E space (resemblyzer's pretrained encoder).

For stock voices: consistency across sentences and separation from the other voices. For
interpolated identities (``interpolate_styles``): whether the synthesised voice lands at the SLERP
target of its parents' GE2E centroids, between them, and is consistent across its own sentences.
Every figure is a cosine between L2-normalised GE2E embeddings (``embspace.extract.WaveformEmbedder``).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from embspace.inside.interp import slerp


def centroid(e: np.ndarray) -> np.ndarray:
    """Unit mean direction of ``(N, D)`` embeddings."""
    m = e.mean(axis=0)
    return m / np.linalg.norm(m)


def self_cos(e: np.ndarray) -> float:
    """Mean cosine between distinct utterances of one identity."""
    n = len(e)
    return float(((e @ e.T).sum() - n) / (n * (n - 1))) if n > 1 else float("nan")


def held_out_cos(e: np.ndarray) -> float:
    """Mean cosine of each utterance to the centroid of the identity's other utterances."""
    return float(np.mean([centroid(np.delete(e, i, axis=0)) @ e[i] for i in range(len(e))])) if len(e) > 1 else float("nan")


def stock_figures(embs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Per stock voice: ``self_cos``, ``held_out_cos`` (an utterance to its own voice's other
    utterances) and ``nearest_other_cos`` (that utterance to the nearest other voice's centroid)."""
    names = sorted(embs)
    cents = np.stack([centroid(embs[n]) for n in names])
    per = {}
    for i, n in enumerate(names):
        others = np.delete(cents, i, axis=0)
        per[n] = {"self_cos": self_cos(embs[n]), "held_out_cos": held_out_cos(embs[n]),
                  "nearest_other_cos": float(np.mean(np.max(embs[n] @ others.T, axis=1)))}
    return {"voices": per, **{k: float(np.mean([v[k] for v in per.values()])) for k in next(iter(per.values()))}}


def midpoint_figures(e_mid: np.ndarray, e_a: np.ndarray, e_b: np.ndarray, alpha: float = 0.5) -> dict[str, float]:
    """Fidelity of one interpolated identity: ``target_cos`` (its centroid to the SLERP of the
    parents' centroids), ``parent_a_cos``/``parent_b_cos``, ``between`` (1 when closer to the target
    than to either parent), ``self_cos``, ``parents_cos``."""
    ca, cb, cm = centroid(e_a), centroid(e_b), centroid(e_mid)
    target = slerp(ca, cb, alpha)
    tc, pa, pb = float(cm @ target), float(cm @ ca), float(cm @ cb)
    return {"target_cos": tc, "parent_a_cos": pa, "parent_b_cos": pb, "between": float(tc > max(pa, pb)),
            "self_cos": self_cos(e_mid), "parents_cos": float(ca @ cb)}


def nn_pairs(vectors: Mapping[str, np.ndarray], group: Callable[[str], str]) -> list[tuple[str, str]]:
    """Each voice with its nearest neighbour (cosine) inside its group; unordered, without duplicates."""
    from embspace.inside.pairing import top_k_neighbours, unit_rows

    pairs = set()
    names = sorted(vectors)
    for g in sorted({group(n) for n in names}):
        members = [n for n in names if group(n) == g]
        if len(members) < 2:
            continue
        nearest, _ = top_k_neighbours(unit_rows(np.stack([vectors[n] for n in members]), members), 1)
        pairs.update(tuple(sorted((members[i], members[int(j)]))) for i, j in enumerate(nearest[:, 0]))
    return sorted(pairs)
