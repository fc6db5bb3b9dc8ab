"""Bootstrap intervals of relative EER changes: exact weighted EERs, significance, determinism, and the
smallest detectable change (checked against an exactly known standard error and by its power)."""

from __future__ import annotations

import numpy as np
import pytest

from embspace.scoring.bootstrap import (Trials, align, compare, compare_files, detectable_change, read_keyed_scores,
                                        restrict_to_speakers, speaker_counts, trial_weights, weighted_eers)
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
    for b in range(4):  # the list of the drawn copies of the speakers, scored the usual way
        copies = [(s, k) for s in range(trials.num_speakers) for k in range(counts[b][s])]
        rep = np.zeros(len(scores), dtype=np.int64)
        for s, k in copies:  # pairs of copies: two copies of one speaker are one person
            for s2, k2 in copies:
                rep += (trials.enroll_spk == s) & (trials.test_spk == s2) & ((s != s2) | (k == k2))
        want = compute_eer(np.repeat(scores, rep), np.repeat(trials.labels, rep))[0]
        assert got[b] == pytest.approx(want, abs=1e-9)
        assert np.array_equal(trial_weights(counts[b:b + 1], trials.enroll_spk, trials.test_spk)[0], rep)


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


def _bad_speaker_system(bad: np.ndarray) -> tuple[Trials, np.ndarray]:
    """One target trial per speaker, scored -10 for the ``bad`` speakers and +10 for the others, and
    two non-target trials per speaker scored in (-1, 1). Every threshold between the non-targets misses
    exactly the bad speakers' targets, so the EER of any speaker resample is the drawn share of bad
    speakers' target trials: ``100 * sum(c[bad]) / sum(c)`` (``c``: how often each speaker was drawn)."""
    n = len(bad)
    s = np.arange(n)
    enroll = np.concatenate([s, s, s])
    test = np.concatenate([s, (s + 1) % n, (s + 2) % n])
    trials = Trials(enroll == test, enroll, test, n)
    scores = np.concatenate([np.where(bad, -10.0, 10.0), np.linspace(-0.99, 0.99, 2 * n)])
    return trials, scores


def test_detectable_change_is_2_8_exact_standard_errors():
    """Baseline and method miss equally many speakers (EER 20 % each), but different ones: the EER
    difference of a resample is ``100 * sum(a * c) / n`` with ``a = bad_method - bad_baseline``, whose
    standard deviation over multinomial counts is exactly ``100 * sqrt(m) / n`` (``m`` speakers with
    ``a != 0``, ``sum(a) = 0``)."""
    n, m = 200, 40
    bad_base = np.arange(n) < 40  # speakers 0-39
    bad_method = (np.arange(n) >= 20) & (np.arange(n) < 60)  # 20-59: 20 + 20 speakers differ
    trials, base = _bad_speaker_system(bad_base)
    _, method = _bad_speaker_system(bad_method)
    c = compare([method], [base], trials, num_resamples=4000, seed=1)
    se = 100.0 * np.sqrt(m) / n  # 3.162 EER points
    assert c.baseline_eer == pytest.approx(20.0) and c.rel_change == pytest.approx(0.0, abs=1e-9)
    assert c.diff_se == pytest.approx(se, rel=0.04)
    assert detectable_change(1.0) == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert c.detectable_change == pytest.approx(2.8016 * se, rel=0.04)  # 8.86 points
    assert c.detectable_rel_change == pytest.approx(100.0 * 2.8016 * se / 20.0, rel=0.04)  # 44 %
    half_width = (c.ci_high - c.ci_low) / 2.0  # the relative 95 % interval: about 1.96 standard errors
    assert half_width == pytest.approx(100.0 * 1.96 * se / 20.0, rel=0.1)
    # restricted to the first 100 speakers: 40 of them differ, the standard error grows to 100 * sqrt(40) / 100
    keep, sub = restrict_to_speakers(trials, np.arange(100))
    c_sub = compare([method[keep]], [base[keep]], sub, num_resamples=4000, seed=1)
    assert c_sub.diff_se == pytest.approx(100.0 * np.sqrt(40) / 100, rel=0.04)
    assert c_sub.baseline_eer == pytest.approx(40.0)


def test_restrict_to_speakers_keeps_the_trials_among_them():
    trials, _, _ = _trials(num_speakers=6, utts=2)
    keep, sub = restrict_to_speakers(trials, np.array([4, 1]))
    both = np.isin(trials.enroll_spk, [1, 4]) & np.isin(trials.test_spk, [1, 4])
    assert np.array_equal(keep, both) and sub.num_speakers == 2
    assert np.array_equal(np.array([4, 1])[sub.enroll_spk], trials.enroll_spk[keep])
    assert np.array_equal(sub.labels, trials.labels[keep])
    with pytest.raises(ValueError, match="distinct"):
        restrict_to_speakers(trials, np.array([1, 1]))


def test_a_change_of_the_detectable_size_is_found_80_percent_of_the_time():
    """Independent evaluations of 100 new speakers each; a speaker is missed by the baseline with
    probability 0.2 and by the method with 0.2 + delta, independently. With delta the detectable change
    (17.5 EER points here), about 80 % of the intervals exclude 0; with no change, about 5 %."""
    n, p = 100, 0.2
    delta = 0.11
    for _ in range(20):  # the detectable change of this population: 2.80 * sqrt(var(a) / n), var(a) = p(1-p) + q(1-q)
        delta = 2.8016 * np.sqrt((p * (1 - p) + (p + delta) * (1 - p - delta)) / n)
    rng = np.random.default_rng(0)
    found = {0.0: 0, delta: 0}
    estimates = []
    for _ in range(40):
        bad_base = rng.random(n) < p
        u = rng.random(n)
        trials, base = _bad_speaker_system(bad_base)
        for change in found:
            _, method = _bad_speaker_system(u < p + change)
            c = compare([method], [base], trials, num_resamples=200, seed=int(rng.integers(1 << 30)))
            found[change] += c.significant
            if change:
                estimates.append(c.detectable_change)
    assert np.mean(estimates) == pytest.approx(100.0 * delta, rel=0.08)
    assert 25 <= found[delta] <= 38 and found[0.0] <= 6, found
