"""Trial lists for emotional speaker verification, and the held-out (dev) speaker choice.

Per speaker: the first ``enroll_per_spk`` neutral utterances (in a seeded random order) enroll, the
next ``neutral_test_per_spk`` neutral ones are neutral tests, every emotional one is an emotional
test. Lists (all enrollment x test pairs, any two speakers; ``target`` when they share the speaker):

* ``nn``: neutral enrollment, neutral test;
* ``<emotion>``: neutral enrollment, test in that emotion (one list per emotion);
* ``merged``: the union of the emotion lists (the "merged emotional test set").

Speakers without enough neutral speech to enroll and test are skipped (counted in the report).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

Trial = tuple[str, str, bool]


def choose_dev_speakers(speakers: Sequence[str], num: int, seed: int = 1) -> list[str]:
    """``num`` speakers drawn (seeded) from ``speakers``, sorted."""
    if not 0 <= num <= len(speakers):
        raise ValueError(f"cannot hold out {num} of {len(speakers)} speakers")
    order = np.random.default_rng(seed).permutation(sorted(speakers))
    return sorted(str(s) for s in order[:num])


@dataclass
class TrialSet:
    """The lists of one speaker set and which utterances play which part."""

    lists: dict[str, list[Trial]]
    enroll: list[str]
    neutral_test: list[str]
    emotional_test: list[str]
    skipped: Counter = field(default_factory=Counter)

    @property
    def utterances(self) -> list[str]:
        return sorted(set(self.enroll) | set(self.neutral_test) | set(self.emotional_test))


def _pairs(enroll: list[str], test: list[str], utt2spk: Mapping[str, str]) -> list[Trial]:
    return [(e, t, utt2spk[e] == utt2spk[t]) for e in enroll for t in test]


def build_trials(utt2spk: Mapping[str, str], utt2emo: Mapping[str, str], neutral_label: str = "neutral",
                 enroll_per_spk: int = 3, neutral_test_per_spk: int = 3, seed: int = 1) -> TrialSet:
    """Enrollment/test roles and the ``nn``, per-emotion and ``merged`` lists (see the module docstring)."""
    if enroll_per_spk < 1 or neutral_test_per_spk < 1:
        raise ValueError("enroll_per_spk and neutral_test_per_spk must be >= 1")
    rng = np.random.default_rng(seed)
    by_spk: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        by_spk.setdefault(utt2spk[utt], []).append(utt)
    enroll, neutral_test, emotional = [], [], []
    skipped: Counter = Counter()
    for spk, utts in sorted(by_spk.items()):
        neutral = [u for u in utts if utt2emo[u] == neutral_label]
        emo = [u for u in utts if utt2emo[u] != neutral_label]
        if len(neutral) < 2:
            skipped["speakers with fewer than 2 neutral utterances"] += 1
            continue
        neutral = [neutral[i] for i in rng.permutation(len(neutral))]
        n_enroll = min(enroll_per_spk, len(neutral) - 1)  # keep at least one neutral test
        enroll += neutral[:n_enroll]
        neutral_test += neutral[n_enroll:n_enroll + neutral_test_per_spk]
        emotional += emo
    emotions = sorted({utt2emo[u] for u in emotional})
    lists = {"nn": _pairs(enroll, neutral_test, utt2spk)}
    for e in emotions:
        lists[e] = _pairs(enroll, [u for u in emotional if utt2emo[u] == e], utt2spk)
    lists["merged"] = [t for e in emotions for t in lists[e]]
    return TrialSet(lists, sorted(enroll), sorted(neutral_test), sorted(emotional), skipped)
