"""Scoring helpers shared by model selection (dev) and evaluation (test): cosine scores after
subtracting a mean, on embeddings enhanced or not, and their mean ± std over evaluation seeds."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from embspace.scoring.cosine import l2_normalize, pair_scores
from embspace.scoring.metrics import compute_all

METRICS = ("eer", "mindcf_0.01", "mindcf_0.05")


def index_scores(emb: np.ndarray, mean: np.ndarray, enroll_idx: np.ndarray, test_idx: np.ndarray) -> np.ndarray:
    """Cosine scores of the index pairs after subtracting ``mean`` (as embspace.bin.score does)."""
    x = l2_normalize(emb, mean)
    return pair_scores(x, x, enroll_idx, test_idx)


def list_metrics(emb: np.ndarray, mean: np.ndarray, trials: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
                 ) -> dict[str, dict[str, float]]:
    """EER/minDCF of each ``name -> (enroll idx, test idx, target)`` list."""
    return {name: {k: float(v) for k, v in compute_all(index_scores(emb, mean, e, t), y).items() if k in METRICS}
            for name, (e, t, y) in trials.items()}


def mean_std(runs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """``{m: mean, m_std: population std}`` of each metric over runs (seeds)."""
    out: dict[str, float] = {}
    for m in METRICS:
        v = np.array([r[m] for r in runs], dtype=np.float64)
        out[m] = float(v.mean())
        out[f"{m}_std"] = float(v.std())
    return out


def selection_score(metrics: Mapping[str, Mapping[str, float]]) -> float:
    """What model selection minimises: the mean EER over the dev lists."""
    return float(np.mean([m["eer"] for m in metrics.values()]))


def seeds_metrics(enhance: Callable[[int], np.ndarray], mean_of: Callable[[np.ndarray], np.ndarray],
                  trials: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]], seeds: Sequence[int]
                  ) -> tuple[dict[str, dict[str, float]], list[dict[str, dict[str, float]]]]:
    """Metrics per evaluation seed (``enhance(seed)`` gives the enhanced table, ``mean_of`` its
    scoring mean) and their mean ± std per list."""
    runs = []
    for s in seeds:
        emb = enhance(s)
        runs.append(list_metrics(emb, mean_of(emb), trials))
    return {name: mean_std([r[name] for r in runs]) for name in trials}, runs
