"""Scoring through an aligner: enrollment on one side, test on the other, single utterances or profiles,
and the gain fraction G of the NESSA paper.

Cosine scoring itself is :func:`embspace.scoring.cosine.score_trials`; here only the two sides are
put into the shared space first.
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import numpy as np

from embspace.data.tables import read_trials
from embspace.nessa.aligner import Aligner, apply_numpy
from embspace.nessa.data import Pairs, profile_rows
from embspace.scoring.cosine import Trial, score_trials
from embspace.scoring.metrics import compute_all, compute_eer
from embspace.utils.errors import DataError

PROFILE_MODES = ("map_then_average", "average_then_map")


def group_means(x: np.ndarray, rows: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of ``x[r]`` for each index array ``r`` (float32)."""
    return np.stack([x[r].astype(np.float64).mean(0) for r in rows]).astype(np.float32)


def embed_side(aligner: Aligner, side: str, keys: Sequence[str], emb: np.ndarray,
               profiles: Mapping[str, Sequence[str]] | None = None, mode: str = "map_then_average",
               profiles_path: str | os.PathLike = "profiles", emb_path: str | os.PathLike = "embeddings"
               ) -> tuple[list[str], np.ndarray]:
    """Keys and shared-space vectors of one side: per utterance, or per profile.

    ``map_then_average`` maps each enrollment utterance and averages the mapped vectors;
    ``average_then_map`` averages the normalised inputs and maps the average (these differ for
    non-linear maps).
    """
    if profiles is None:
        return list(keys), apply_numpy(aligner, side, emb)
    if mode not in PROFILE_MODES:
        raise ValueError(f"unknown profile mode '{mode}' (one of {', '.join(PROFILE_MODES)})")
    rows = profile_rows(profiles, keys, profiles_path, emb_path)
    if mode == "map_then_average":
        z = group_means(apply_numpy(aligner, side, emb), rows)
    else:
        z = apply_numpy(aligner, side, group_means(apply_numpy(aligner, side, emb, "prepare"), rows), "transform")
    return list(profiles), z


def score_sides(aligner: Aligner, trials: Sequence[Trial], enroll_side: str, enroll_keys: Sequence[str],
                enroll_emb: np.ndarray, test_side: str, test_keys: Sequence[str], test_emb: np.ndarray,
                profiles: Mapping[str, Sequence[str]] | None = None, mode: str = "map_then_average",
                trials_path: str | os.PathLike | None = None, profiles_path: str | os.PathLike = "profiles",
                enroll_path: str | os.PathLike = "enrollment embeddings") -> np.ndarray:
    """Cosine scores of ``trials`` with enrollment embeddings of ``enroll_side`` and test embeddings of
    ``test_side``, both mapped into the aligner's space (enrollment averaged over ``profiles``)."""
    e_keys, e = embed_side(aligner, enroll_side, enroll_keys, enroll_emb, profiles, mode, profiles_path, enroll_path)
    t = apply_numpy(aligner, test_side, test_emb)
    return score_trials(trials, list(test_keys), t, e_keys, e, trials_path=trials_path)


class DevSet:
    """A dev trial list over paired embeddings (held-out training speakers), for early stopping and
    selection: the metric is the mean EER of the two asymmetric configurations (X enrolled / Y at
    runtime, and Y enrolled / X at runtime)."""

    def __init__(self, trials_path: str | os.PathLike, pairs: Pairs) -> None:
        self.trials_path = trials_path
        self.trials = read_trials(trials_path)
        if not self.trials:
            raise DataError("no trials", trials_path)
        self.pairs = pairs

    def keys(self) -> list[str]:
        return sorted({k for e, t, _ in self.trials for k in (e, t)})

    def evaluate(self, aligner: Aligner) -> dict[str, float]:
        labels = np.array([y for _, _, y in self.trials])
        p = self.pairs
        xy = score_sides(aligner, self.trials, "x", p.keys, p.x, "y", p.keys, p.y, trials_path=self.trials_path)
        yx = score_sides(aligner, self.trials, "y", p.keys, p.y, "x", p.keys, p.x, trials_path=self.trials_path)
        eer_xy, eer_yx = compute_eer(xy, labels)[0], compute_eer(yx, labels)[0]
        return {"dev_eer": 0.5 * (eer_xy + eer_yx), "dev_eer_x_enroll": eer_xy, "dev_eer_y_enroll": eer_yx}


class DevProfiles:
    """A dev list of profile trials (held-out training speakers: ``<profile> <utt> target|nontarget``
    over ``profiles``), to choose the profile averaging mode before any test list is scored. The
    metric is the mean EER of the two asymmetric configurations, as in :class:`DevSet`."""

    def __init__(self, trials_path: str | os.PathLike, profiles: Mapping[str, Sequence[str]],
                 profiles_path: str | os.PathLike, pairs: Pairs | None) -> None:
        self.trials_path, self.profiles_path = trials_path, profiles_path
        self.trials = read_trials(trials_path)
        if not self.trials:
            raise DataError("no trials", trials_path)
        unknown = next((e for e, _, _ in self.trials if e not in profiles), None)
        if unknown is not None:
            raise DataError(f"enrollment '{unknown}' is not a profile of {profiles_path}", trials_path)
        self.profiles, self.pairs = profiles, pairs

    def utterances(self) -> list[str]:
        """Every utterance the list needs (profile members and test utterances)."""
        return sorted({u for utts in self.profiles.values() for u in utts} | {t for _, t, _ in self.trials})

    def evaluate(self, aligner: Aligner, mode: str) -> float:
        """Mean dev EER (%) of both asymmetric configurations with profiles averaged in ``mode``."""
        labels = np.array([y for _, _, y in self.trials])
        p, eers = self.pairs, []
        for (e, ee), (t, te) in ((("x", p.x), ("y", p.y)), (("y", p.y), ("x", p.x))):
            scores = score_sides(aligner, self.trials, e, p.keys, ee, t, p.keys, te, self.profiles, mode,
                                 self.trials_path, self.profiles_path, "the dev embeddings")
            eers.append(compute_eer(scores, labels)[0])
        return 0.5 * (eers[0] + eers[1])


def choose_profile_mode(aligner: Aligner, dev: DevProfiles) -> tuple[str, dict[str, float]]:
    """The profile mode with the lowest dev EER (a tie goes to the first of ``PROFILE_MODES``) and
    the dev EER of every mode."""
    dev_eer = {mode: dev.evaluate(aligner, mode) for mode in PROFILE_MODES}
    return min(PROFILE_MODES, key=lambda m: dev_eer[m]), dev_eer


def gain_fraction(old: float, new: float, asym: float) -> float | None:
    """G = (m(old/old) - m(asym)) / (m(old/old) - m(new/new)) for an error metric m.

    1 means the asymmetric system is as good as the new symmetric one, 0 as good as the old one.
    None when the two symmetric systems are equally good (G is undefined).
    """
    gap = old - new
    if not all(map(math.isfinite, (old, new, asym))):
        raise ValueError(f"metrics must be finite, got {old}, {new}, {asym}")
    if abs(gap) < 1e-12:
        return None
    return (old - asym) / gap


def metrics_of(scores: np.ndarray, trials: Sequence[Trial]) -> dict[str, float | int]:
    """EER and minDCF (0.01, 0.05) of scores against the trials' labels."""
    return compute_all(scores, np.array([y for _, _, y in trials]))
