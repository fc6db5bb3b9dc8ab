"""Scoring shared by model selection (dev) and evaluation (test): cosine scores after subtracting a
mean, on embeddings enhanced or not, their mean ± std over evaluation seeds, and the evaluation of
test lists with and without SEED (:func:`evaluate_lists`, run by ``embspace.bin.seed_evaluate``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from embspace.scoring.cosine import l2_normalize, pair_scores, write_scores
from embspace.scoring.metrics import compute_all
from embspace.seed.enhance import Enhancer, enhance_table
from embspace.utils.atomic import atomic_write_text

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


def sweep_markdown(sweep: Mapping[int, Mapping[str, Mapping[str, float]]], baseline: Mapping[str, Mapping[str, float]],
                   lists: Sequence[str]) -> str:
    """The t* sweep as a markdown table: the baseline row, then mean ± std per t*."""
    head = "| t* | " + " | ".join(f"{n} EER (%) | {n} minDCF 0.05" for n in lists) + " |"
    lines = [head, "|" + "---:|" * (1 + 2 * len(lists))]
    cells = [f"{baseline[n]['eer']:.2f} | {baseline[n]['mindcf_0.05']:.4f}" for n in lists]
    lines.append("| baseline | " + " | ".join(cells) + " |")
    for t, per_list in sweep.items():
        cells = [f"{m['eer']:.2f} ± {m['eer_std']:.2f} | {m['mindcf_0.05']:.4f} ± {m['mindcf_0.05_std']:.4f}"
                 for m in (per_list[n] for n in lists)]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclass
class TrialList:
    """A trial list mapped onto the rows of the test table."""

    trials: list
    enroll: np.ndarray
    test: np.ndarray
    labels: np.ndarray

    def metrics(self, scores: np.ndarray) -> dict[str, float]:
        """EER and minDCF of ``scores`` of these trials."""
        return {k: float(v) for k, v in compute_all(scores, self.labels).items() if k in METRICS}


@dataclass
class Inference:
    """How embeddings are enhanced: t*, noise draws averaged, DDIM steps (0/1: single step)."""

    t_star: int
    num_draws: int
    ddim_steps: int


@dataclass
class Evaluation:
    """What :func:`evaluate_lists` found: baseline metrics, SEED mean ± std with the per-seed runs, the sweep."""

    baseline: dict[str, dict[str, float]]
    summary: dict[str, dict]
    sweep: dict[int, dict[str, dict[str, float]]]


def evaluate_lists(enhancer: Enhancer, train: tuple[list[str], np.ndarray], test: tuple[list[str], np.ndarray],
                   mean_vec: np.ndarray, lists: Mapping[str, TrialList], inference: Inference,
                   eval_seeds: Sequence[int], sweep_t: Sequence[int], out_dir: Path, baseline_out_dir: Path,
                   baseline_rows: Sequence[str]) -> Evaluation:
    """Score every list without SEED (``mean_vec`` subtracted) and with SEED at t* for each
    evaluation seed (mean of the enhanced training table subtracted), then the t* sweep. Writes
    ``<out_dir>/<list>.seed<S>.score`` and ``<list>.metrics.json``, and for ``baseline_rows``
    ``<baseline_out_dir>/<list>.score`` and ``.metrics.json``."""
    train_keys, train_emb = train
    keys, test_emb = test
    draws, ddim = inference.num_draws, inference.ddim_steps
    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def enhanced(seed: int, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Enhanced (test, train mean) for one seed and t*."""
        if (seed, t) not in cache:
            tr = enhance_table(enhancer, train_keys, train_emb, seed, t, draws, ddim)
            te = enhance_table(enhancer, keys, test_emb, seed, t, draws, ddim)
            cache[(seed, t)] = (te, tr.mean(axis=0))
        return cache[(seed, t)]

    def scores_of(emb: np.ndarray, mean: np.ndarray, name: str) -> np.ndarray:
        return index_scores(emb, mean, lists[name].enroll, lists[name].test)

    baseline = {}
    for name, tl in lists.items():
        s = scores_of(test_emb, mean_vec, name)
        baseline[name] = tl.metrics(s)
        if name in baseline_rows:
            write_scores(baseline_out_dir / f"{name}.score", tl.trials, s)
            atomic_write_text(baseline_out_dir / f"{name}.metrics.json", json.dumps(baseline[name], indent=2) + "\n")
    summary = {}
    for name, tl in lists.items():
        runs = []
        for seed in eval_seeds:
            te, mean = enhanced(seed, inference.t_star)
            s = scores_of(te, mean, name)
            write_scores(out_dir / f"{name}.seed{seed}.score", tl.trials, s)
            runs.append(tl.metrics(s))
        summary[name] = {**mean_std(runs), "runs": runs, "eval_seeds": list(eval_seeds)}
        atomic_write_text(out_dir / f"{name}.metrics.json", json.dumps(summary[name], indent=2) + "\n")
    sweep = {}
    for t in sweep_t:
        sweep[t] = {name: mean_std([tl.metrics(scores_of(*enhanced(seed, t), name)) for seed in eval_seeds])
                    for name, tl in lists.items()}
        for seed in eval_seeds:
            if t != inference.t_star:
                cache.pop((seed, t), None)
    return Evaluation(baseline, summary, sweep)
