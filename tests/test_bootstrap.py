"""Bootstrap intervals of relative EER changes: exact weighted EERs, significance, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from embspace.scoring.bootstrap import (Trials, align, compare, compare_files, read_keyed_scores, speaker_counts,
                                        weighted_eers)
from embspace.scoring.metrics import compute_eer
from embspace.utils.errors import DataError


def _trials(num_speakers=30, utts=4, seed=0) -> tuple[Trials, list[tuple[str, str]], dict[str, str]]:
    """Every pair of different utterances of ``num_speakers`` x ``utts``: ~7k trials for 30 x 4."""
    utt2spk = {f"s{s:02d}-u{u}": f"s{s:02d}" for s in range(num_speakers) for u in range(utts)}
    utts_ = sorted(utt2spk)
    pairs = [(a, b) for i, a in enumerate(utts_) for b in utts_[i + 1:]]
    spk = {s: i for i, s in enumerate(sorted(set(utt2spk.values())))}
    e = np.array([spk[utt2spk[a]] for a, _ in pairs])
    t = np.array([spk[utt2spk[b]] for _, b in pairs])
    return Trials(e == t, e, t, num_speakers), pairs, utt2spk


def _system(trials: Trials, separation: float, seed: int) -> np.ndarray:
    """Scores with a per-speaker offset (so that speakers matter) and target separation ``separation``."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(0, 0.3, trials.num_speakers)
    return np.round(rng.normal(0, 1, len(trials.labels)) + separation * trials.labels + offset[trials.enroll_spk], 3)


def test_weighted_eer_is_the_eer_of_the_resampled_list():
    trials, _, _ = _trials()
    scores = _system(trials, 2.0, 1)
    ones = np.ones((1, trials.num_speakers), dtype=np.int64)
    assert weighted_eers(scores, trials, ones)[0] == pytest.approx(compute_eer(scores, trials.labels)[0], abs=1e-12)
    counts = speaker_counts(trials.num_speakers, 4, np.random.default_rng(3))
    got = weighted_eers(scores, trials, counts)
    for b in range(4):  # repeat each trial by its weight and score the list the usual way
        rep = counts[b][trials.enroll_spk] * counts[b][trials.test_spk]
        want = compute_eer(np.repeat(scores, rep), np.repeat(trials.labels, rep))[0]
        assert got[b] == pytest.approx(want, abs=1e-9)


def test_clear_improvement_is_significant_and_identical_systems_are_not():
    trials, _, _ = _trials()
    base = _system(trials, 1.5, 1)
    better = _system(trials, 2.5, 2)
    c = compare([better], [base], trials, num_resamples=300, seed=0)
    assert c.rel_change < -30 and c.ci_high < 0 and c.significant
    same = compare([base], [base], trials, num_resamples=300, seed=0)
    assert same.ci_low <= 0.0 <= same.ci_high and not same.significant
    # two runs of an equally good system: the interval straddles 0
    twin = compare([_system(trials, 1.5, 7)], [base], trials, num_resamples=300, seed=0)
    assert twin.ci_low < 0.0 < twin.ci_high and not twin.significant


def test_seed_variation_widens_the_interval_and_runs_are_deterministic():
    trials, _, _ = _trials()
    base = [_system(trials, 1.5, s) for s in (1, 2, 3)]
    method = [_system(trials, sep, s + 10) for s, sep in zip((1, 2, 3), (1.6, 2.4, 2.0))]
    a = compare(method, base, trials, num_resamples=100, seed=5)
    b = compare(method, base, trials, num_resamples=100, seed=5)
    assert (b.rel_change, b.ci_low, b.ci_high) == (a.rel_change, a.ci_low, a.ci_high)
    other = compare(method, base, trials, num_resamples=100, seed=6)
    assert (other.ci_low, other.ci_high) != (a.ci_low, a.ci_high)
    one_seed = compare(method[:1], base[:1], trials, num_resamples=100, seed=5)
    pooled = compare(method, base, trials, num_resamples=100, seed=5, paired_seeds=True)
    assert pooled.ci_high - pooled.ci_low > 0 and one_seed.ci_high - one_seed.ci_low > 0
    with pytest.raises(ValueError):
        compare(method, base[:2], trials, paired_seeds=True)


def _write(path, pairs, scores, labels):
    path.write_text("".join(f"{a} {b} {s:.3f} {'target' if y else 'nontarget'}\n"
                            for (a, b), s, y in zip(pairs, scores, labels)))


def test_compare_files_aligns_trials_and_names_unknown_speakers(tmp_path):
    trials, pairs, utt2spk = _trials(num_speakers=12, utts=3)
    base, better = _system(trials, 1.5, 1), _system(trials, 3.0, 2)
    _write(tmp_path / "base", pairs, base, trials.labels)
    rev = np.arange(len(pairs))[::-1]  # the method's file lists the trials in another order
    _write(tmp_path / "m", [pairs[i] for i in rev], better[rev], trials.labels[rev])
    comp, speakers = compare_files([tmp_path / "m"], [tmp_path / "base"], utt2spk, num_resamples=100, seed=0)
    direct = compare([better], [base], trials, num_resamples=100, seed=0)
    assert speakers == 12 and (comp.rel_change, comp.ci_low, comp.ci_high) == pytest.approx(
        (direct.rel_change, direct.ci_low, direct.ci_high), abs=1e-9)
    with pytest.raises(DataError, match="no speaker"):
        compare_files([tmp_path / "m"], [tmp_path / "base"], {k: v for k, v in list(utt2spk.items())[1:]})
    _write(tmp_path / "short", pairs[1:], better[1:], trials.labels[1:])
    with pytest.raises(DataError, match="other trials"):
        align(read_keyed_scores(tmp_path / "base"), read_keyed_scores(tmp_path / "short"), tmp_path / "short")
