"""Verification metrics: EER, minDCF, DET curve; and the score-file reader.

All metrics share ``det_curve``: target and non-target scores are sorted separately, merged with
a stable (run-merging) argsort, and cumulative sums give the miss / false-alarm rates at every
distinct threshold (a trial is accepted when ``score >= threshold``). 10M scores take ~1 s.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from embspace.data.tables import BOM, check_unique_pair, iter_lines
from embspace.utils.errors import DataError


def read_scores(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``enroll test score target|nontarget`` lines into ``(scores float64, labels bool)``.

    Read as every Kaldi table is (see :mod:`embspace.data.tables`); a malformed line, a score that
    is not a finite number and a trial listed twice are DataErrors naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    try:
        text = path.read_bytes().decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError:
        return _read_scores_slow(path)  # names the line
    fields = text.split()
    n_lines = text.count("\n") + (not text.endswith("\n") and bool(text))
    if n_lines * 4 == len(fields) and set(fields[3::4]) <= {"target", "nontarget"}:
        try:  # fast path: every line has 4 fields (no blank lines either)
            scores = np.fromiter(map(float, fields[2::4]), dtype=np.float64, count=n_lines)
            labels = np.array(fields[3::4]) == "target"
        except ValueError:
            pass
        else:
            bad = np.flatnonzero(~np.isfinite(scores))
            if len(bad):
                raise DataError("score is NaN or inf", path, _nth_line(path, int(bad[0])))
            pair_hashes = np.fromiter(map(hash, zip(fields[0::4], fields[1::4])), dtype=np.int64, count=n_lines)
            if len(np.unique(pair_hashes)) == n_lines:
                return scores, labels
    return _read_scores_slow(path)


def _read_scores_slow(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Line-by-line reader that names the first bad line."""
    scores: list[float] = []
    labels: list[bool] = []
    first: dict[tuple[str, str], int] = {}
    for n, fields in iter_lines(path):
        if len(fields) != 4 or fields[3] not in ("target", "nontarget"):
            raise DataError("expected '<enroll> <test> <score> target|nontarget'", path, n)
        try:
            score = float(fields[2])
        except ValueError:
            raise DataError(f"score {fields[2]!r} is not a number", path, n) from None
        if not np.isfinite(score):
            raise DataError("score is NaN or inf", path, n)
        check_unique_pair(first, fields[0], fields[1], path, n)
        scores.append(score)
        labels.append(fields[3] == "target")
    return np.array(scores, dtype=np.float64), np.array(labels, dtype=bool)


def _nth_line(path: str | os.PathLike, index: int) -> int:
    """Line number of the ``index``-th non-empty line."""
    for i, (n, _) in enumerate(iter_lines(path)):
        if i == index:
            return n
    return index + 1


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pmiss, pfa, thresholds)`` at every distinct score plus ``+inf`` (pmiss rising, pfa falling)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"{scores.shape[0]} scores but {labels.shape[0]} labels")
    if not np.isfinite(scores).all():
        raise DataError("scores contain NaN or inf")
    tgt = np.sort(scores[labels])
    non = np.sort(scores[~labels])
    n_tgt, n_non = len(tgt), len(non)
    if n_tgt == 0 or n_non == 0:
        raise DataError(f"need both target and non-target trials, got {n_tgt} and {n_non}")
    merged = np.concatenate([tgt, non])
    order = np.argsort(merged, kind="stable")  # merges two sorted runs: linear time
    ss = merged[order]
    # k = number of scores below the threshold; thresholds are the distinct sorted scores, then +inf
    tgt_below = np.empty(len(ss) + 1, dtype=np.int64)
    tgt_below[0] = 0
    np.cumsum(order < n_tgt, out=tgt_below[1:])
    k = np.arange(len(ss) + 1)
    thresholds = np.append(ss, np.inf)
    distinct = ss[1:] != ss[:-1]
    if not distinct.all():  # ties: keep the first position of each distinct score
        k = np.flatnonzero(np.concatenate([[True], distinct, [True]]))
        tgt_below, thresholds = tgt_below[k], thresholds[k]
    pmiss = tgt_below / n_tgt
    pfa = (n_non - (k - tgt_below)) / n_non
    return pmiss, pfa, thresholds


def eer_from_curve(pmiss: np.ndarray, pfa: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """EER in percent where the curve crosses ``pmiss == pfa`` (linear interpolation), and its threshold."""
    d = pmiss - pfa  # rises from -1 to 1
    i = int(np.searchsorted(d, 0.0, side="left"))
    if d[i] == 0.0 or i == 0:
        return float(pmiss[i] * 100.0), float(thresholds[i])
    a = -d[i - 1] / (d[i] - d[i - 1])
    eer = pmiss[i - 1] + a * (pmiss[i] - pmiss[i - 1])
    t0, t1 = thresholds[i - 1], thresholds[i]
    thr = t0 + a * (t1 - t0) if np.isfinite(t1) else t0
    return float(eer * 100.0), float(thr)


def min_dcf_from_curve(pmiss: np.ndarray, pfa: np.ndarray, thresholds: np.ndarray, p_target: float,
                       c_miss: float = 1.0, c_fa: float = 1.0) -> tuple[float, float]:
    """Normalised minimum detection cost and the threshold reaching it."""
    if not 0.0 < p_target < 1.0:
        raise ValueError(f"p_target must be in (0, 1), got {p_target}")
    dcf = c_miss * p_target * pmiss + c_fa * (1.0 - p_target) * pfa
    i = int(np.argmin(dcf))
    return float(dcf[i] / min(c_miss * p_target, c_fa * (1.0 - p_target))), float(thresholds[i])


def compute_eer(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Equal error rate in percent and the threshold at the crossing."""
    return eer_from_curve(*det_curve(scores, labels))


def compute_min_dcf(scores: np.ndarray, labels: np.ndarray, p_target: float,
                    c_miss: float = 1.0, c_fa: float = 1.0) -> tuple[float, float]:
    """minDCF normalised by ``min(c_miss * p_target, c_fa * (1 - p_target))``, and its threshold."""
    return min_dcf_from_curve(*det_curve(scores, labels), p_target, c_miss, c_fa)


def compute_all(scores: np.ndarray, labels: np.ndarray,
                p_targets: tuple[float, ...] = (0.01, 0.05)) -> dict[str, float | int]:
    """EER, minDCF at each ``p_target`` (``mindcf_<p>``), EER threshold and trial counts, one sort."""
    labels = np.asarray(labels, dtype=bool)
    curve = det_curve(scores, labels)
    eer, thr = eer_from_curve(*curve)
    out: dict[str, float | int] = {"eer": eer}
    for p in p_targets:
        out[f"mindcf_{p:g}"] = min_dcf_from_curve(*curve, p)[0]
    out.update(eer_threshold=thr, num_target=int(labels.sum()), num_nontarget=int((~labels).sum()))
    return out
