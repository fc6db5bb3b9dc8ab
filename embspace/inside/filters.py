"""Filters on synthetic speech: duration, self-similarity, and a privacy bound to every real speaker.

Applied in this order, on arrays (so they serve any backend):

1. ``duration`` — utterances outside ``[min_dur, max_dur]`` seconds go;
2. ``self_sim`` — an utterance whose embedding has cosine below ``min_self_sim`` to the mean of
   its identity's other utterances (an utterance that does not sound like the rest) goes;
3. ``too_few_utts`` — identities left with fewer than ``min_utts`` utterances go;
4. ``privacy`` — an identity whose centroid (mean of its utterance embeddings) has cosine above
   ``max_real_sim`` to any real speaker's mean goes: no real identity is cloned. The real speakers
   are the training speakers and, given them (:func:`reference_speakers`), the test speakers, so
   that no test speaker is cloned into the training data either.

Embeddings are only needed for 2 and 4 (``None`` thresholds switch those filters off).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from embspace.utils.errors import DataError


@dataclass
class FilterOptions:
    """Thresholds; ``None`` switches a filter off."""

    min_dur: float | None = 0.5
    max_dur: float | None = 30.0
    min_self_sim: float | None = None
    max_real_sim: float | None = None
    min_utts: int = 2


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def loo_self_similarity(emb: np.ndarray, speakers: Sequence[str]) -> np.ndarray:
    """Per utterance: cosine to the mean of the other utterances of its speaker (NaN if it is alone)."""
    x = _unit(emb)
    spk = np.asarray(speakers)
    out = np.full(len(spk), np.nan)
    for s in np.unique(spk):
        idx = np.flatnonzero(spk == s)
        if len(idx) < 2:
            continue
        total = x[idx].sum(axis=0)
        others = _unit(total[None, :] - x[idx])
        out[idx] = np.sum(others * x[idx], axis=1)
    return out


def speaker_centroids(emb: np.ndarray, speakers: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Unit-norm mean embedding per speaker (speakers in sorted order)."""
    spk = np.asarray(speakers)
    names = sorted(set(speakers))
    x = _unit(emb)
    return names, _unit(np.stack([x[spk == s].mean(axis=0) for s in names]))


def reference_speakers(sets: Mapping[str, tuple[Sequence[str], np.ndarray]]) -> tuple[list[str], np.ndarray, list[str]]:
    """The real speakers of several named sets (e.g. ``train``, ``test``) for the privacy filter:
    ``(ids, means, set of each speaker)``; the sets' dimensions must agree (a DataError names them)."""
    ids: list[str] = []
    means: list[np.ndarray] = []
    origin: list[str] = []
    dims = {name: np.asarray(m).shape[1] for name, (_, m) in sets.items() if len(m)}
    if len(set(dims.values())) > 1:
        raise DataError("real speaker means of different dimensions ("
                        + ", ".join(f"{n}: {d}" for n, d in dims.items()) + "): all must come from the --encoder")
    for name, (names, m) in sets.items():
        if len(names) != len(m):
            raise DataError(f"{name}: {len(names)} speaker ids for {len(m)} mean embeddings")
        ids += list(names)
        means += list(np.asarray(m, dtype=np.float64))
        origin += [name] * len(names)
    return ids, (np.stack(means) if means else np.zeros((0, 0))), origin


def apply_filters(speakers: Sequence[str], durations: Sequence[float], opts: FilterOptions,
                  emb: np.ndarray | None = None, real_ids: Sequence[str] = (),
                  real_means: np.ndarray | None = None, real_sets: Sequence[str] | None = None) -> tuple[np.ndarray, dict]:
    """A keep-mask over the utterances and a report ``{"removed": {filter: count}, ...}`` (utterance
    counts for duration/self_sim, identity counts for too_few_utts/privacy; the privacy entries list
    each removed identity with its nearest real speaker, its set (``real_sets``, e.g. from
    :func:`reference_speakers`) and cosine)."""
    spk = np.asarray(speakers)
    dur = np.asarray(durations, dtype=np.float64)
    if len(spk) != len(dur) or (emb is not None and len(emb) != len(spk)):
        raise DataError(f"filter inputs disagree in length: {len(spk)} speakers, {len(dur)} durations, "
                        f"{None if emb is None else len(emb)} embeddings")
    needs_emb = opts.min_self_sim is not None or opts.max_real_sim is not None
    if needs_emb and emb is None:
        raise DataError("the self-similarity and privacy filters need embeddings of the synthetic utterances")
    keep = np.ones(len(spk), dtype=bool)
    removed = {"duration": 0, "self_sim": 0, "too_few_utts": 0, "privacy": 0}
    if opts.min_dur is not None:
        keep &= dur >= opts.min_dur
    if opts.max_dur is not None:
        keep &= dur <= opts.max_dur
    removed["duration"] = int((~keep).sum())
    self_sim = None
    if opts.min_self_sim is not None:
        self_sim = np.full(len(spk), np.nan)
        self_sim[keep] = loo_self_similarity(emb[keep], spk[keep])
        drop = keep & (self_sim < opts.min_self_sim)
        removed["self_sim"] = int(drop.sum())
        keep &= ~drop
    counts = {s: int(np.sum(keep & (spk == s))) for s in np.unique(spk)}
    few = {s for s, c in counts.items() if c < opts.min_utts}
    removed["too_few_utts"] = len(few)
    keep &= ~np.isin(spk, list(few))
    privacy = []
    if opts.max_real_sim is not None and keep.any():
        if real_means is None or len(real_means) == 0:
            raise DataError("the privacy filter needs the real speakers' mean embeddings")
        if real_means.shape[1] != emb.shape[1]:
            raise DataError(f"real speaker means are {real_means.shape[1]}-dim, synthetic embeddings "
                            f"{emb.shape[1]}-dim: both must come from the same encoder")
        names, cents = speaker_centroids(emb[keep], spk[keep])
        sims = cents @ _unit(real_means).T
        nearest = sims.argmax(axis=1)
        for s, row, j in zip(names, sims, nearest):
            if row[j] > opts.max_real_sim:
                privacy.append({"identity": s, "nearest_real": real_ids[j], "cos": round(float(row[j]), 4),
                                **({"set": real_sets[j]} if real_sets is not None else {})})
        removed["privacy"] = len(privacy)
        keep &= ~np.isin(spk, [p["identity"] for p in privacy])
    report = {"options": asdict(opts), "input_identities": int(len(np.unique(spk))), "input_utterances": int(len(spk)),
              "removed": removed, "privacy_removed": privacy,
              "kept_identities": int(len(np.unique(spk[keep]))), "kept_utterances": int(keep.sum())}
    if self_sim is not None and np.isfinite(self_sim).any():
        report["self_sim_mean"] = round(float(np.nanmean(self_sim)), 4)
    return keep, report
