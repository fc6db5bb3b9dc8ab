"""How well Kokoro follows its style space, measured in GE2E space (resemblyzer's pretrained encoder).

For stock voices: consistency across sentences and separation from the other voices. For
interpolated identities (``interpolate_styles``): whether the synthesised voice lands at the SLERP
target of its parents' GE2E centroids, between them, and is consistent across its own sentences.
Every figure is a cosine between L2-normalised GE2E embeddings (``embspace.extract.WaveformEmbedder``).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from embspace.inside.interp import slerp
from embspace.utils.atomic import atomic_path


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


class CachedVoiceEmbedder:
    """Style -> GE2E embeddings of the sentences synthesised with it by the ``kokoro`` backend, kept
    per style, texts and language in ``cache_dir`` when given; counts the seconds of audio made."""

    def __init__(self, kokoro_dir: str | None, num_threads: int, texts: list[str], language: str,
                 cache_dir: str | None = None) -> None:
        from embspace.extract import WaveformEmbedder
        from embspace.inside.backend import build_backend

        self.backend = build_backend("kokoro", kokoro_dir=kokoro_dir, num_threads=num_threads)
        self.embed = WaveformEmbedder("ge2e")
        self.texts, self.language, self.cache_dir = texts, language, cache_dir
        self.audio_s = 0.0

    def __call__(self, style: np.ndarray) -> np.ndarray:
        cached = None
        if self.cache_dir:
            key = hashlib.sha256(np.ascontiguousarray(style, dtype="<f4").tobytes()
                                 + json.dumps([self.texts, self.language]).encode()).hexdigest()[:32]
            cached = Path(self.cache_dir) / f"{key}.npy"
            if cached.is_file():
                return np.load(cached)
        waves = self.backend.synthesize(style, self.texts, self.language)
        self.audio_s += sum(len(w) for w in waves) / 16000
        e = self.embed(waves)
        if cached is not None:
            with atomic_path(cached) as tmp, open(tmp, "wb") as f:
                np.save(f, e)
        return e


def measure_kokoro(kokoro_dir: str | None, languages: str, methods: list[str], alpha: float, max_pairs: int,
                   num_sentences: int, language: str, num_threads: int, cache_dir: str | None) -> dict[str, Any]:
    """Stock-voice figures, summary-vector figures and, per interpolation variant in ``methods``, the
    midpoint figures of every nearest-neighbour pair of voices (``embspace.bin.kokoro_fidelity``)."""
    from tqdm import tqdm

    from embspace.corpus.sentences import SENTENCES
    from embspace.inside.kokoro_voices import (interpolate_styles, load_voices, select_voices, summary_vector,
                                               voice_gender)

    t0, c0 = time.perf_counter(), time.process_time()
    packs = select_voices(load_voices(kokoro_dir), languages)
    texts = list(SENTENCES["en"][: num_sentences])
    run = CachedVoiceEmbedder(kokoro_dir, num_threads, texts, language, cache_dir)
    stock = {n: run(pack) for n, pack in tqdm(packs.items(), desc="stock voices", file=sys.stderr)}
    result = {"voices": len(packs), "sentences_per_identity": len(texts), "alpha": alpha,
              "stock": stock_figures(stock)}
    summ = {n: float(centroid(run(summary_vector(packs[n]))) @ centroid(stock[n]))
            for n in tqdm(list(packs)[: max(1, min(len(packs), 8))], desc="summary vectors", file=sys.stderr)}
    result["stock"]["summary_vs_pack_cos"] = {"mean": float(np.mean(list(summ.values()))), "voices": summ}
    pairs = nn_pairs({n: summary_vector(v) for n, v in packs.items()}, lambda n: n[0] + voice_gender(n))
    if max_pairs:
        pairs = pairs[: max_pairs]
    result["pairs"] = [list(x) for x in pairs]
    for variant in methods:
        method, _, split = variant.partition("-")
        rows = {}
        for a, b in tqdm(pairs, desc=variant, file=sys.stderr):
            style = interpolate_styles(packs[a], packs[b], alpha, method=method, halves=split == "halves")
            rows[f"{a}+{b}"] = midpoint_figures(run(style), stock[a], stock[b], alpha)
        keys = ["target_cos", "parent_a_cos", "parent_b_cos", "self_cos", "parents_cos"]
        result[variant] = {**{k: float(np.mean([r[k] for r in rows.values()])) for k in keys},
                           "between_parents_fraction": float(np.mean([r["between"] for r in rows.values()])),
                           "pairs": rows}
    result["timing"] = {"audio_s": round(run.audio_s, 1), "wall_s": round(time.perf_counter() - t0, 1),
                        "cpu_s": round(time.process_time() - c0, 1)}
    return result
