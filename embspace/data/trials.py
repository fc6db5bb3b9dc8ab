"""Trial lists from speaker labels: all utterance pairs, and multi-utterance enrollment profiles."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from embspace.utils.errors import DataError


def all_pairs(utts: list[str], utt2spk: dict[str, str], max_trials: int = 0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` with ``i < j`` and their target flags; keeps every target pair."""
    n = len(utts)
    i, j = np.triu_indices(n, k=1)
    spk = np.array([utt2spk[u] for u in utts])
    target = spk[i] == spk[j]
    if max_trials and len(i) > max_trials:
        rng = np.random.default_rng(seed)
        non = np.flatnonzero(~target)
        keep_non = rng.choice(non, size=max(0, max_trials - int(target.sum())), replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(target), keep_non]))
        i, j, target = i[keep], j[keep], target[keep]
    return i, j, target


def make_profiles(utt2spk: dict[str, str], utts_per_profile: int, profiles_per_speaker: int, seed: int = 1,
                  path: str | os.PathLike = "utt2spk") -> tuple[dict[str, list[str]], list[str]]:
    """Enrollment profiles ``{<spk>-enroll<k>: utts}`` (utterances drawn per speaker with ``seed``) and the
    remaining utterances (the test side). A speaker without enough utterances is a DataError."""
    if utts_per_profile < 1 or profiles_per_speaker < 1:
        raise ValueError("--utts-per-profile and --profiles-per-speaker must be >= 1")
    rng = np.random.default_rng(seed)
    need = utts_per_profile * profiles_per_speaker
    profiles: dict[str, list[str]] = {}
    test: list[str] = []
    spk2utts: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utts.setdefault(utt2spk[utt], []).append(utt)
    for spk in sorted(spk2utts):
        utts = spk2utts[spk]
        if len(utts) <= need:
            raise DataError(f"{len(utts)} utterances: {need} for enrollment and at least one to test are needed",
                            path, key=spk)
        order = rng.permutation(len(utts))
        for k in range(profiles_per_speaker):
            profiles[f"{spk}-enroll{k + 1}"] = sorted(utts[i] for i in order[k * utts_per_profile:(k + 1) * utts_per_profile])
        test += sorted(utts[i] for i in order[need:])
    return profiles, sorted(test)


def profile_trials(profiles: dict[str, list[str]], test: list[str], utt2spk: dict[str, str]) -> list[str]:
    """Lines ``<profile> <test utt> target|nontarget`` of every profile against every test utterance."""
    spk_of = {name: utt2spk[u[0]] for name, u in profiles.items()}
    return [f"{name} {t} {'target' if spk_of[name] == utt2spk[t] else 'nontarget'}" for name in profiles for t in test]


def write_all_pairs(out: str, utts: list[str], utt2spk: dict[str, str], max_trials: int = 0,
                    seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The list of every pair (:func:`all_pairs`) written to ``out``; returns its indices and target flags."""
    from embspace.data.tables import write_lines

    i, j, target = all_pairs(utts, utt2spk, max_trials, seed)
    label = np.where(target, "target", "nontarget")
    write_lines(out, (f"{utts[a]} {utts[b]} {t}" for a, b, t in zip(i, j, label)))
    print(f"make_trials: {len(i)} trials ({int(target.sum())} target) -> {out}", file=sys.stderr)
    return i, j, target


def write_same_gender(d: Path, out: str, utts: list[str], utt2spk: dict[str, str], i: np.ndarray, j: np.ndarray,
                      target: np.ndarray) -> None:
    """The same-gender list, or (without ``spk2gender``) a message and the removal of a stale one."""
    from embspace.data.tables import read_table, write_lines

    if not (d / "spk2gender").is_file():
        note = ""
        if os.path.lexists(out):
            os.unlink(out)  # left from data with genders: it no longer belongs to this data
            note = f"; removed the old {out}"
        print(f"make_trials: skipping same-gender trials: {d / 'spk2gender'} does not exist (the data has no "
              f"gender){note}", file=sys.stderr)
        return
    spk2gender = read_table(d / "spk2gender")
    gender = np.array([spk2gender.get(utt2spk[u], "?") for u in utts])
    keep = target | (gender[i] == gender[j])
    label = np.where(target, "target", "nontarget")
    write_lines(out, (f"{utts[a]} {utts[b]} {t}" for a, b, t in zip(i[keep], j[keep], label[keep])))
    print(f"make_trials: {int(keep.sum())} same-gender trials -> {out}", file=sys.stderr)


def write_profiles(profiles_out: str, trials_out: str, utt2spk: dict[str, str], utts_per_profile: int,
                   profiles_per_speaker: int, seed: int, source: str | os.PathLike = "utt2spk") -> None:
    """Enrollment profiles (:func:`make_profiles`) and every profile against every other utterance."""
    from embspace.data.tables import write_lines

    profiles, test = make_profiles(utt2spk, utts_per_profile, profiles_per_speaker, seed, source)
    write_lines(profiles_out, (f"{name} {' '.join(u)}" for name, u in profiles.items()))
    write_lines(trials_out, profile_trials(profiles, test, utt2spk))
    print(f"make_trials: {len(profiles)} profiles of {utts_per_profile} utterances, {len(profiles) * len(test)} "
          f"profile trials -> {profiles_out}, {trials_out}", file=sys.stderr)
