"""Confidence intervals for the relative EER change of a method over its baseline.

Two sources of variation are combined:

* **test speakers**: a paired bootstrap over the speakers of the trial list. A resample draws the
  test speakers with replacement and builds the trial list of the drawn copies: a trial between two
  speakers counts ``c[enroll speaker] * c[test speaker]`` times (``c``: how often each speaker was
  drawn; every pair of copies), a trial within one speaker (every target trial) ``c[speaker]`` times
  (each copy's own trials; two copies of one speaker are one person, not a trial pair of their own).
  Trials whose sides were not drawn drop out. Both systems are scored on the same resample.
* **seeds** (runs of the method trained or evaluated with different seeds): each resample also
  draws the seeds with replacement, paired between the two systems when both were run with the same
  seeds (a baseline with one run is used for every seed), and averages the EERs over the drawn seeds.

The relative change of a resample is ``100 * (mean EER of the method - mean EER of the baseline) /
mean EER of the baseline``; the interval is the 2.5th and 97.5th percentiles over resamples, and the
change is ``significant`` when the interval excludes 0.

The **smallest detectable change** says what the evaluation can resolve at all: the true EER change
that a two-sided test at the 5 % level detects with 80 % power, ``(z(0.975) + z(0.80)) * SE = 2.80 * SE``,
where ``SE`` is the bootstrap standard error of the EER difference (method - baseline, EER points).
Under the null (no change) the relative change has standard error ``SE / EER of the baseline``, so
the relative figure is ``100 * detectable change / EER of the baseline``. The half-width of the 95 %
interval is about ``1.96 * SE``, i.e. 0.7 times the detectable change.

The weighted EER of all resamples is computed at once (one sort per score list, cumulative sums of
the weights in blocks of resamples): 1000 resamples of 10k trials take well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

from embspace.data.tables import iter_lines
from embspace.utils.errors import DataError

#: values per block of resamples (bounds the memory)
BLOCK_ELEMENTS = 4_000_000
#: speaker-pair groups x grid points of the counts below each grid threshold
GRID_ELEMENTS = 4_000_000
#: power at which the smallest detectable change is stated (with the interval's two-sided level)
DETECTION_POWER = 0.8


@dataclass(frozen=True)
class KeyedScores:
    """A score file: trial sides, scores and labels, in file order."""

    enroll: np.ndarray  # str
    test: np.ndarray  # str
    scores: np.ndarray  # float64
    labels: np.ndarray  # bool


def read_keyed_scores(path: str | os.PathLike) -> KeyedScores:
    """Read ``enroll test score target|nontarget`` lines, keeping the trial sides."""
    from embspace.scoring.metrics import read_scores

    scores, labels = read_scores(path)  # checks every line, names the first bad one
    fields = Path(path).read_text(encoding="utf-8").split()
    if len(fields) == 4 * len(scores):
        enroll, test = np.array(fields[0::4]), np.array(fields[1::4])
    else:
        sides = [f[:2] for _, f in iter_lines(path)]
        enroll, test = np.array([s[0] for s in sides]), np.array([s[1] for s in sides])
    return KeyedScores(enroll, test, scores, labels)


@dataclass(frozen=True)
class Trials:
    """One trial list as the bootstrap sees it: labels and the speaker index of both sides."""

    labels: np.ndarray  # bool, (N,)
    enroll_spk: np.ndarray  # int, (N,)
    test_spk: np.ndarray  # int, (N,)
    num_speakers: int


def trials_from_scores(ref: KeyedScores, utt2spk: Mapping[str, str], source: str | os.PathLike = "") -> Trials:
    """Speakers of the trials of ``ref`` through ``utt2spk`` (DataError naming an unknown id)."""
    ids = np.concatenate([ref.enroll, ref.test])
    uniq, inverse = np.unique(ids, return_inverse=True)
    missing = [u for u in uniq if u not in utt2spk]
    if missing:
        raise DataError(f"{len(missing)} trial side(s) have no speaker in the utt2spk given, e.g. '{missing[0]}'",
                        source or None)
    spk_of_uniq = np.array([utt2spk[u] for u in uniq])
    speakers, spk_index = np.unique(spk_of_uniq, return_inverse=True)
    side = spk_index[inverse]
    n = len(ref.labels)
    return Trials(ref.labels.copy(), side[:n], side[n:], len(speakers))


def restrict_to_speakers(trials: Trials, speakers: np.ndarray) -> tuple[np.ndarray, Trials]:
    """The trials whose both sides are among ``speakers`` (indices into ``trials``' speakers), as the
    trial list of an evaluation with only those speakers: returns the kept-trial mask and that list
    (speakers renumbered in the order given)."""
    speakers = np.asarray(speakers, dtype=np.int64)
    if len(np.unique(speakers)) != len(speakers) or len(speakers) == 0 \
            or speakers.min() < 0 or speakers.max() >= trials.num_speakers:
        raise ValueError(f"need distinct speaker indices in [0, {trials.num_speakers}), got {len(speakers)}")
    new_index = np.full(trials.num_speakers, -1, dtype=np.int64)
    new_index[speakers] = np.arange(len(speakers))
    e, t = new_index[trials.enroll_spk], new_index[trials.test_spk]
    keep = (e >= 0) & (t >= 0)
    return keep, Trials(trials.labels[keep], e[keep], t[keep], len(speakers))


def align(ref: KeyedScores, other: KeyedScores, source: str | os.PathLike = "") -> np.ndarray:
    """``other``'s scores in the trial order of ``ref``; DataError unless both hold the same trials."""
    if len(ref.scores) == len(other.scores) and np.array_equal(ref.enroll, other.enroll) \
            and np.array_equal(ref.test, other.test):
        if not np.array_equal(ref.labels, other.labels):
            raise DataError("same trials as the baseline but other target/nontarget labels", source or None)
        return other.scores
    index = {k: i for i, k in enumerate(zip(other.enroll.tolist(), other.test.tolist()))}
    keys = list(zip(ref.enroll.tolist(), ref.test.tolist()))
    if len(index) != len(other.scores) or len(keys) != len(other.scores) or any(k not in index for k in keys):
        raise DataError(f"scores other trials than the baseline ({len(other.scores)} vs {len(ref.scores)} lines, "
                        "or other pairs)", source or None)
    order = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    if not np.array_equal(other.labels[order], ref.labels):
        raise DataError("same trials as the baseline but other target/nontarget labels", source or None)
    return other.scores[order]


def speaker_counts(num_speakers: int, num_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each speaker is drawn in each resample, ``(num_resamples, num_speakers)``."""
    return rng.multinomial(num_speakers, np.full(num_speakers, 1.0 / num_speakers), size=num_resamples)


def trial_weights(counts: np.ndarray, enroll_spk: np.ndarray, test_spk: np.ndarray) -> np.ndarray:
    """How often each trial is in the resamples with speaker ``counts`` ``(resamples, speakers)``: once
    per pair of drawn copies for two speakers, once per copy within one speaker. The speaker indices
    are ``(trials,)`` (the same trials in every resample) or ``(resamples, trials)``."""
    def pick(index: np.ndarray) -> np.ndarray:
        index = np.asarray(index)
        if index.ndim == 1:
            index = np.broadcast_to(index, (len(counts), len(index)))
        return np.take_along_axis(counts, index, axis=1)

    ce, ct = pick(enroll_spk), pick(test_spk)
    return np.where(np.asarray(enroll_spk) == np.asarray(test_spk), ce, ce * ct)


def weighted_eers(scores: np.ndarray, trials: Trials, counts: np.ndarray) -> np.ndarray:
    """EER (percent) of ``scores`` under each resample's trial weights (:func:`trial_weights`); NaN where
    a resample kept no target or no non-target trial. With all counts 1 it equals
    :func:`~embspace.scoring.metrics.compute_eer`.

    Trials with the same speakers and label share a weight, so the weighted counts below a grid of
    thresholds are one matrix product (resamples x speaker pairs) @ (speaker pairs x grid); the EER
    crossing is then found exactly among the thresholds between two grid points.
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], trials.labels[order]
    e, t = trials.enroll_spk[order], trials.test_spk[order]
    n = len(s)
    boundary = np.concatenate([[True], s[1:] != s[:-1], [True]])  # positions (scores below) that are thresholds
    k = np.flatnonzero(boundary)
    # groups of trials sharing a weight: (enroll speaker, test speaker, label)
    group_key = (e.astype(np.int64) * trials.num_speakers + t) * 2 + y
    keys, gid = np.unique(group_key, return_inverse=True)
    ge, gt, gy = keys // 2 // trials.num_speakers, keys // 2 % trials.num_speakers, (keys % 2).astype(bool)
    n_grid = int(min(len(k), max(2, np.sqrt(n) * 2), max(2, GRID_ELEMENTS // len(keys))))
    grid = k[np.unique(np.linspace(0, len(k) - 1, n_grid).round().astype(np.int64))]  # includes 0 and n
    below = _group_counts_below(gid, len(keys), grid)  # (groups, grid)
    span = int(np.diff(grid).max()) + 1
    block = max(1, BLOCK_ELEMENTS // (span + len(keys) + len(grid)))
    out = np.empty(len(counts), dtype=np.float64)
    for start in range(0, len(counts), block):
        c = counts[start:start + block].astype(np.float64)
        w = trial_weights(c, ge, gt)  # (b, groups)
        tgt_grid, non_grid = w[:, gy] @ below[gy], w[:, ~gy] @ below[~gy]
        out[start:start + len(c)] = _refine(c, tgt_grid, non_grid, grid, span, boundary, y, e, t)
    return out


def _group_counts_below(gid: np.ndarray, num_groups: int, grid: np.ndarray) -> np.ndarray:
    """``[g, j]``: trials of group ``g`` among the first ``grid[j]`` sorted trials."""
    n = len(gid)
    pos = np.arange(n, dtype=np.int64)
    keyed = np.sort(gid.astype(np.int64) * (n + 1) + pos)  # by group, then position
    base = np.arange(num_groups, dtype=np.int64)[:, None] * (n + 1)
    return (np.searchsorted(keyed, base + grid[None, :]) - np.searchsorted(keyed, base)).astype(np.float64)


def _refine(c: np.ndarray, tgt_grid: np.ndarray, non_grid: np.ndarray, grid: np.ndarray, span: int,
            boundary: np.ndarray, y: np.ndarray, e: np.ndarray, t: np.ndarray) -> np.ndarray:
    """EERs of a block of resamples: the crossing between the grid points around it, exactly."""
    n_tgt, n_non = tgt_grid[:, -1], non_grid[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        d_grid = tgt_grid / n_tgt[:, None] - (n_non[:, None] - non_grid) / n_non[:, None]
    j = np.maximum(np.argmax(d_grid >= 0.0, axis=1), 1)  # first grid point at or past the crossing
    rows = np.arange(len(c))
    lo = grid[j - 1]  # a threshold position below the crossing
    n = len(y)
    pos = lo[:, None] + np.arange(span)[None, :]  # trial positions lo .. lo + span - 1
    inside = pos < n
    p = np.minimum(pos, n - 1)
    w = np.where(inside, trial_weights(c, e[p], t[p]), 0.0)
    wt = np.where(y[p], w, 0.0)
    zero = np.zeros((len(c), 1))
    tgt_below = tgt_grid[rows, j - 1][:, None] + np.concatenate([zero, np.cumsum(wt, axis=1)], axis=1)
    non_below = non_grid[rows, j - 1][:, None] + np.concatenate([zero, np.cumsum(w - wt, axis=1)], axis=1)
    q = lo[:, None] + np.arange(span + 1)[None, :]  # threshold positions (scores below)
    valid = (q <= grid[j][:, None]) & boundary[np.minimum(q, n)]
    # other positions repeat the last threshold before them: the first point at or past the crossing
    # is then a threshold, and the point before it holds the previous threshold's rates
    last = np.maximum.accumulate(np.where(valid, np.arange(valid.shape[1])[None, :], 0), axis=1)
    tgt_below = np.take_along_axis(tgt_below, last, axis=1)
    non_below = np.take_along_axis(non_below, last, axis=1)
    return _eer_of_cums(tgt_below, non_below, n_tgt, n_non)


def _eer_of_cums(tgt_below: np.ndarray, non_below: np.ndarray, n_tgt: np.ndarray, n_non: np.ndarray) -> np.ndarray:
    """Row-wise EER (percent) from weighted counts below each threshold (as ``eer_from_curve``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pmiss = tgt_below / n_tgt[:, None]
        pfa = (n_non[:, None] - non_below) / n_non[:, None]
        d = pmiss - pfa  # rises from -1 to 1
        i = np.argmax(d >= 0.0, axis=1)
        rows = np.arange(len(d))
        prev = np.maximum(i - 1, 0)
        d0, d1 = d[rows, prev], d[rows, i]
        exact = (i == 0) | (d1 == 0.0)
        a = np.where(exact, 0.0, -d0 / np.where(exact, 1.0, d1 - d0))
        eer = np.where(exact, pmiss[rows, i], pmiss[rows, prev] + a * (pmiss[rows, i] - pmiss[rows, prev]))
    eer[(n_tgt == 0) | (n_non == 0)] = np.nan
    return eer * 100.0


def detectable_change(se: float, confidence: float = 0.95, power: float = DETECTION_POWER) -> float:
    """Smallest true change that a two-sided test at level ``1 - confidence`` detects with probability
    ``power``, for an estimate with standard error ``se``: ``(z(1 - alpha/2) + z(power)) * se``."""
    if not 0.0 < confidence < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"confidence and power must lie in (0, 1), got {confidence} and {power}")
    z = NormalDist()
    return (z.inv_cdf(0.5 + confidence / 2.0) + z.inv_cdf(power)) * se


@dataclass(frozen=True)
class Comparison:
    """Relative EER change of a method over its baseline, with its bootstrap interval and the
    smallest change the evaluation can detect."""

    rel_change: float  # percent, from the mean EERs over seeds on the full trial list
    ci_low: float
    ci_high: float
    num_resamples: int  # resamples with a defined EER (both kinds of trial kept)
    seconds: float
    baseline_eer: float = float("nan")  # percent, mean over the baseline's runs on the full trial list
    diff_se: float = float("nan")  # bootstrap standard error of the EER difference, EER points
    confidence: float = 0.95
    power: float = DETECTION_POWER

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.ci_low > 0.0 or self.ci_high < 0.0

    @property
    def detectable_change(self) -> float:
        """Smallest detectable EER change, in EER points (see the module docstring)."""
        return detectable_change(self.diff_se, self.confidence, self.power)

    @property
    def detectable_rel_change(self) -> float:
        """Smallest detectable EER change relative to the baseline's EER, percent."""
        if not self.baseline_eer > 0.0:
            return float("nan")
        return 100.0 * self.detectable_change / self.baseline_eer


def _seed_draws(n_method: int, n_base: int, num_resamples: int, rng: np.random.Generator,
                paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Seed indices drawn with replacement per resample, for the method and for the baseline."""
    m = rng.integers(0, n_method, size=(num_resamples, n_method))
    if paired:
        return m, m
    return m, rng.integers(0, n_base, size=(num_resamples, n_base))


def compare(method_scores: Sequence[np.ndarray], baseline_scores: Sequence[np.ndarray], trials: Trials,
            num_resamples: int = 1000, seed: int = 0, paired_seeds: bool | None = None,
            confidence: float = 0.95) -> Comparison:
    """Relative EER change of a method (one score array per seed) over its baseline (one per seed,
    or one run) on the same ``trials``, with a bootstrap interval over test speakers and seeds.

    ``paired_seeds`` (default: both have as many runs, more than one) resamples the seeds of the
    two systems together. Deterministic for a given ``seed``.
    """
    import time

    from embspace.scoring.metrics import compute_eer

    if not method_scores or not baseline_scores:
        raise ValueError("need at least one score array per system")
    for s in (*method_scores, *baseline_scores):
        if len(s) != len(trials.labels):
            raise ValueError(f"{len(s)} scores for {len(trials.labels)} trials")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    counts = speaker_counts(trials.num_speakers, num_resamples, rng)
    if paired_seeds is None:
        paired_seeds = len(method_scores) == len(baseline_scores) > 1
    elif paired_seeds and len(method_scores) != len(baseline_scores):
        raise ValueError("paired seeds need as many baseline runs as method runs")
    pick_m, pick_b = _seed_draws(len(method_scores), len(baseline_scores), num_resamples, rng, paired_seeds)
    eer_m = np.stack([weighted_eers(s, trials, counts) for s in method_scores])  # (seeds, resamples)
    eer_b = np.stack([weighted_eers(s, trials, counts) for s in baseline_scores])
    cols = np.arange(num_resamples)
    mean_m = eer_m[pick_m, cols[:, None]].mean(axis=1)
    mean_b = eer_b[pick_b, cols[:, None]].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = 100.0 * (mean_m - mean_b) / mean_b
    rel = rel[np.isfinite(rel)]
    if len(rel) == 0:
        raise ValueError("no resample kept both target and non-target trials with a baseline EER above 0")
    diff = mean_m - mean_b
    diff = diff[np.isfinite(diff)]
    diff_se = float(np.std(diff, ddof=1)) if len(diff) > 1 else float("nan")
    full_m = np.mean([compute_eer(s, trials.labels)[0] for s in method_scores])
    full_b = np.mean([compute_eer(s, trials.labels)[0] for s in baseline_scores])
    point = 100.0 * (full_m - full_b) / full_b if full_b > 0 else float("nan")
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(rel, [tail, 100.0 - tail])
    return Comparison(float(point), float(lo), float(hi), len(rel), time.perf_counter() - t0,
                      baseline_eer=float(full_b), diff_se=diff_se, confidence=confidence)


def _aligned_to(ref_file: str | os.PathLike, others: Sequence[str | os.PathLike],
                utt2spk: Mapping[str, str]) -> tuple[Trials, np.ndarray, list[np.ndarray]]:
    """The trials of ``ref_file``, its scores, and the scores of every other file aligned to its trials."""
    ref = read_keyed_scores(ref_file)
    return (trials_from_scores(ref, utt2spk, ref_file), ref.scores,
            [align(ref, read_keyed_scores(f), f) for f in others])


def compare_files(method_files: Sequence[str | os.PathLike], baseline_files: Sequence[str | os.PathLike],
                  utt2spk: Mapping[str, str], num_resamples: int = 1000, seed: int = 0) -> tuple[Comparison, int]:
    """:func:`compare` on score files (one per seed and system); the trials of every file are aligned
    to the first baseline file's. Returns the comparison and the number of test speakers."""
    trials, first, rest = _aligned_to(baseline_files[0], [*baseline_files[1:], *method_files], utt2spk)
    nb = len(baseline_files)
    return compare(rest[nb - 1:], [first, *rest[:nb - 1]], trials, num_resamples, seed), trials.num_speakers


def gain_interval_files(asym_files: Sequence[str | os.PathLike], old_file: str | os.PathLike,
                        new_file: str | os.PathLike, utt2spk: Mapping[str, str], num_resamples: int = 1000,
                        seed: int = 0, confidence: float = 0.95, threshold: float = 0.6) -> dict[str, float]:
    """Bootstrap interval of NESSA's G = (EER(old) - EER(asym)) / (EER(old) - EER(new)) over test speakers.

    The systems are scored on the same trials (aligned to ``old_file``'s) and weighted by the same
    speaker resamples; ``asym_files`` holds one run, or one per mapper training seed, drawn with
    replacement per resample and averaged (the symmetric systems are one run each). Resamples
    where the two symmetric systems tie (G undefined) drop out. Returns ``gain_ci_low``,
    ``gain_ci_high`` and ``gain_p_at_least`` (the share of resamples with G >= ``threshold``)."""
    trials, old, (new, *asym) = _aligned_to(old_file, [new_file, *asym_files], utt2spk)
    rng = np.random.default_rng(seed)
    counts = speaker_counts(trials.num_speakers, num_resamples, rng)
    eer_old, eer_new = (weighted_eers(s, trials, counts) for s in (old, new))
    runs = np.stack([weighted_eers(s, trials, counts) for s in asym])  # (seeds, resamples)
    pick = rng.integers(0, len(asym), size=(num_resamples, len(asym)))
    eer_asym = runs[pick, np.arange(num_resamples)[:, None]].mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = (eer_old - eer_asym) / (eer_old - eer_new)
    gain = gain[np.isfinite(gain)]
    if len(gain) == 0:
        raise ValueError("G is undefined in every resample (the two symmetric systems tie)")
    tail = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(gain, [tail, 100.0 - tail])
    return {"gain_ci_low": round(float(lo), 4), "gain_ci_high": round(float(hi), 4),
            f"gain_p_at_least_{threshold}": round(float(np.mean(gain >= threshold)), 4)}
