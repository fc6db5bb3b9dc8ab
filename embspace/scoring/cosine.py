"""Vectorised cosine scoring of Kaldi trials, and the score-file writer."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from embspace.data.tables import iter_lines, write_lines
from embspace.utils.errors import DataError

Trial = tuple[str, str, bool]


def l2_normalize(x: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Subtract ``mean`` (if given) from each row, then scale rows to unit length (float32)."""
    x = np.asarray(x, dtype=np.float32)
    if mean is not None:
        x = x - np.asarray(mean, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, np.finfo(np.float32).tiny))


def _line_of(trials_path: str | os.PathLike | None, index: int) -> int:
    """The file line number of the ``index``-th trial (``read_trials`` skips blank lines)."""
    if trials_path is not None:
        try:
            for i, (n, _) in enumerate(iter_lines(trials_path)):
                if i == index:
                    return n
        except DataError:
            pass
    return index + 1


def _indices(trials: Sequence[Trial], side: int, index: dict[str, int], name: str,
             trials_path: str | os.PathLike | None, source: object = None) -> np.ndarray:
    """Row index of side ``side`` (0 enroll, 1 test) of every trial; ``source`` names the embeddings."""
    try:
        return np.fromiter((index[t[side]] for t in trials), dtype=np.int64, count=len(trials))
    except KeyError as e:
        bad = next(i for i, t in enumerate(trials) if t[side] not in index)
        raise DataError(f"{name} key not found in {source or f'the {name} embeddings'}",
                        trials_path if trials_path is not None else "trials",
                        _line_of(trials_path, bad), trials[bad][side]) from e


def map_trials(trials: Sequence[Trial], enroll_keys: Sequence[str], test_keys: Sequence[str],
               trials_path: str | os.PathLike | None = None,
               sources: tuple[object, object] = (None, None)) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(enroll_idx, test_idx)`` of each trial; an unknown key is a DataError naming the
    trials line and the embeddings (``sources``: the enrollment and test scp files) it is missing from."""
    e_index = {k: i for i, k in enumerate(enroll_keys)}
    t_index = e_index if test_keys is enroll_keys else {k: i for i, k in enumerate(test_keys)}
    return (_indices(trials, 0, e_index, "enrollment", trials_path, sources[0]),
            _indices(trials, 1, t_index, "test", trials_path, sources[1]))


def pair_scores(enroll: np.ndarray, test: np.ndarray, ei: np.ndarray, ti: np.ndarray,
                chunk: int = 8192) -> np.ndarray:
    """Row-wise dot products ``enroll[ei[k]] . test[ti[k]]`` computed in chunks (float64 out)."""
    out = np.empty(len(ei), dtype=np.float64)
    for s in range(0, len(ei), chunk):
        e = slice(s, s + chunk)
        out[e] = np.einsum("ij,ij->i", enroll[ei[e]], test[ti[e]])
    return out


def score_trials(trials: Sequence[Trial], keys: Sequence[str], emb: np.ndarray,
                 enroll_keys: Sequence[str] | None = None, enroll_emb: np.ndarray | None = None,
                 mean: np.ndarray | None = None, trials_path: str | os.PathLike | None = None,
                 sources: tuple[object, object] = (None, None)) -> np.ndarray:
    """Cosine score of each trial.

    ``keys/emb`` hold the test side (and the enrollment side when ``enroll_*`` is None);
    ``enroll_keys/enroll_emb`` may be per-utterance or per-speaker (``spk_xvector.scp``).
    ``mean`` is subtracted from both sides before length normalisation. ``sources`` (enrollment and
    test scp) name the files in the error about a key missing from them.
    """
    enroll, test, ei, ti = normalised_sides(trials, keys, emb, enroll_keys, enroll_emb, mean, trials_path, sources)
    return pair_scores(enroll, test, ei, ti)


def normalised_sides(trials: Sequence[Trial], keys: Sequence[str], emb: np.ndarray,
                     enroll_keys: Sequence[str] | None, enroll_emb: np.ndarray | None,
                     mean: np.ndarray | None, trials_path: str | os.PathLike | None,
                     sources: tuple[object, object] = (None, None)
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean-subtracted, length-normalised enrollment and test matrices and each trial's row indices."""
    if (enroll_keys is None) != (enroll_emb is None):
        raise ValueError("give both enroll_keys and enroll_emb, or neither")
    test = l2_normalize(emb, mean)
    if enroll_keys is None:
        enroll_keys, enroll = keys, test
    else:
        enroll = l2_normalize(enroll_emb, mean)
    ei, ti = map_trials(trials, enroll_keys, keys, trials_path, sources)
    return enroll, test, ei, ti


def write_scores(path: str | os.PathLike, trials: Sequence[Trial], scores: np.ndarray) -> None:
    """Write ``enroll test score target|nontarget`` lines atomically."""
    if len(trials) != len(scores):
        raise ValueError(f"{len(trials)} trials but {len(scores)} scores")
    write_lines(path, (f"{e} {t} {s:.6f} {'target' if y else 'nontarget'}"
                       for (e, t, y), s in zip(trials, scores.tolist())))
