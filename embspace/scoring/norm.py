"""Score normalisation: adaptive s-norm (AS-norm) and plain s-norm against an embedding cohort.

For each enrollment and test embedding, the cosine scores against the cohort are computed once
(over the unique embeddings used by the trials, not per trial); the mean and standard deviation
(``ddof=0``) of its ``top_n`` highest cohort scores normalise the trial score::

    s' = 0.5 * ((s - mu_e) / sd_e + (s - mu_t) / sd_t)

``top_n <= 0`` (or at least the cohort size) uses the whole cohort: plain s-norm.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from embspace.scoring.cosine import Trial, l2_normalize, normalised_sides, pair_scores
from embspace.utils.errors import DataError


def cohort_stats(x: np.ndarray, cohort: np.ndarray, top_n: int = 300,
                 chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the ``top_n`` highest scores of each row of ``x`` against ``cohort``.

    Both matrices must already be length-normalised (see ``l2_normalize``).
    """
    n_cohort = len(cohort)
    if n_cohort < 2:
        raise DataError(f"the cohort needs at least 2 embeddings, got {n_cohort}")
    if top_n == 1:
        raise ValueError("top_n must be >= 2 (or <= 0 for the whole cohort)")
    n = n_cohort if top_n <= 0 else min(top_n, n_cohort)
    mu = np.empty(len(x))
    sd = np.empty(len(x))
    ct = np.ascontiguousarray(cohort.T)
    for s in range(0, len(x), chunk):
        sims = x[s:s + chunk] @ ct
        if n < n_cohort:
            sims = np.partition(sims, n_cohort - n, axis=1)[:, n_cohort - n:]
        sims = sims.astype(np.float64)
        mu[s:s + chunk] = sims.mean(axis=1)
        sd[s:s + chunk] = sims.std(axis=1)
    return mu, np.maximum(sd, 1e-12)


def as_norm(scores: np.ndarray, ei: np.ndarray, ti: np.ndarray, enroll: np.ndarray, test: np.ndarray,
            cohort: np.ndarray, top_n: int = 300) -> np.ndarray:
    """AS-norm raw ``scores`` of trials ``(enroll[ei], test[ti])``; inputs length-normalised."""
    if enroll is test:  # one matrix for both sides: each embedding's statistics once
        u, inv = np.unique(np.concatenate([ei, ti]), return_inverse=True)
        mu_e, sd_e = mu_t, sd_t = cohort_stats(enroll[u], cohort, top_n)
        e_inv, t_inv = inv[:len(ei)], inv[len(ei):]
    else:
        ue, e_inv = np.unique(ei, return_inverse=True)
        ut, t_inv = np.unique(ti, return_inverse=True)
        mu_e, sd_e = cohort_stats(enroll[ue], cohort, top_n)
        mu_t, sd_t = cohort_stats(test[ut], cohort, top_n)
    return 0.5 * ((scores - mu_e[e_inv]) / sd_e[e_inv] + (scores - mu_t[t_inv]) / sd_t[t_inv])


def score_trials_asnorm(trials: Sequence[Trial], keys: Sequence[str], emb: np.ndarray, cohort: np.ndarray,
                        top_n: int = 300, enroll_keys: Sequence[str] | None = None,
                        enroll_emb: np.ndarray | None = None, mean: np.ndarray | None = None,
                        trials_path: str | os.PathLike | None = None,
                        sources: tuple[object, object] = (None, None)) -> np.ndarray:
    """Cosine scores of ``trials`` normalised with AS-norm (see ``score_trials`` for the arguments).

    ``cohort`` (e.g. training speakers' mean embeddings) gets the same mean subtraction and
    length normalisation as the trial embeddings.
    """
    enroll, test, ei, ti = normalised_sides(trials, keys, emb, enroll_keys, enroll_emb, mean, trials_path, sources)
    raw = pair_scores(enroll, test, ei, ti)
    return as_norm(raw, ei, ti, enroll, test, l2_normalize(cohort, mean), top_n)
