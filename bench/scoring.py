"""Scoring benchmark: vectorised cosine vs a per-trial loop, metrics on 10M scores, AS-norm.

Run: ``python bench/scoring.py`` (about 20-40 s on 2 cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.scoring.cosine import score_trials  # noqa: E402
from embspace.scoring.metrics import compute_eer, compute_min_dcf, det_curve, eer_from_curve, min_dcf_from_curve  # noqa: E402
from embspace.scoring.norm import score_trials_asnorm  # noqa: E402
from embspace.utils.machine import describe_machine  # noqa: E402

N_UTT, DIM, N_TRIALS, N_LOOP, N_SCORES, N_COHORT = 10_000, 256, 1_000_000, 20_000, 10_000_000, 1000


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _loop_scores(trials, keys, emb):
    """The straightforward way: normalise on the fly, one Python dot product per trial."""
    row = dict(zip(keys, emb))
    out = []
    for e, t, _ in trials:
        a, b = row[e], row[t]
        out.append(float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))))
    return np.array(out)


def main() -> None:
    """Print the machine and the timings."""
    print(describe_machine())
    rng = np.random.default_rng(0)
    keys = [f"utt{i:05d}" for i in range(N_UTT)]
    emb = rng.standard_normal((N_UTT, DIM)).astype(np.float32)
    pairs = rng.integers(0, N_UTT, size=(N_TRIALS, 2))
    targets = rng.random(N_TRIALS) < 0.1
    trials = [(keys[a], keys[b], bool(y)) for (a, b), y in zip(pairs.tolist(), targets.tolist())]

    vec, t_vec = _timed(score_trials, trials, keys, emb)
    loop, t_loop = _timed(_loop_scores, trials[:N_LOOP], keys, emb)
    assert np.allclose(vec[:N_LOOP], loop, atol=1e-5)
    r_vec, r_loop = N_TRIALS / t_vec, N_LOOP / t_loop
    print(f"cosine, {N_TRIALS:,} trials, {N_UTT:,} x {DIM} embeddings:")
    print(f"  vectorised     {t_vec:7.3f} s  {r_vec:12,.0f} trials/s")
    print(f"  per-trial loop {t_loop:7.3f} s  {r_loop:12,.0f} trials/s  (timed on {N_LOOP:,} trials; "
          f"{N_TRIALS / r_loop:.1f} s extrapolated for {N_TRIALS:,})")
    print(f"  speed-up       {r_vec / r_loop:7.1f}x")

    cohort = rng.standard_normal((N_COHORT, DIM)).astype(np.float32)
    _, t_as = _timed(score_trials_asnorm, trials, keys, emb, cohort, 300)
    print(f"AS-norm (top-300, {N_COHORT} cohort), {N_TRIALS:,} trials incl. scoring: {t_as:.3f} s "
          f"({N_TRIALS / t_as:,.0f} trials/s)")

    labels = rng.random(N_SCORES) < 0.1
    scores = rng.standard_normal(N_SCORES) + 2.0 * labels
    del trials

    def shared():
        curve = det_curve(scores, labels)
        return eer_from_curve(*curve), min_dcf_from_curve(*curve, 0.01), min_dcf_from_curve(*curve, 0.05)

    (eer, dcf1, dcf5), t_shared = _timed(shared)
    _, t_sep = _timed(lambda: (compute_eer(scores, labels), compute_min_dcf(scores, labels, 0.01),
                               compute_min_dcf(scores, labels, 0.05)))
    print(f"metrics on {N_SCORES:,} scores: EER {eer[0]:.3f}%, minDCF 0.01 {dcf1[0]:.4f}, 0.05 {dcf5[0]:.4f}")
    print(f"  one DET curve shared (as compute_metrics does): {t_shared:.3f} s")
    print(f"  three separate calls (compute_eer + 2x compute_min_dcf): {t_sep:.3f} s")


if __name__ == "__main__":
    main()
