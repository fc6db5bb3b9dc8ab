"""Embed every utterance of the emotion trial lists and score them (``embspace.bin.emotion_eval``):
embeddings, the mean of the dev lists' utterances, and per list a score file and its metrics."""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
from pathlib import Path

import kaldiio
import numpy as np
import torch

from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, write_embeddings
from embspace.extract import audio_features_fn, embed_with_encoder, load_encoder
from embspace.features.fbank import load_feature_cuts
from embspace.scoring.cosine import score_trials, write_scores
from embspace.scoring.metrics import compute_all
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

_JOB: dict = {}  # what forked embedding workers inherit: model path and cuts


def _embed_part(part: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    """Embeddings of ``_JOB["cuts"][start:end]`` (one process, one thread: small convolutions on one
    utterance at a time gain nothing from more threads, and lose much when cores are shared)."""
    torch.set_num_threads(1)
    device = torch.device("cpu")
    encoder = load_encoder(_JOB["model"], device)
    return list(embed_with_encoder(encoder, _JOB["cuts"][part[0]:part[1]], device,
                                   feature_fn=audio_features_fn(encoder)))


def embed_all(model: str, cuts: list, nj: int) -> list[tuple[str, np.ndarray]]:
    """``(id, embedding)`` of every cut, in order, with ``nj`` forked processes."""
    _JOB.update(model=model, cuts=cuts)
    bounds = np.linspace(0, len(cuts), max(1, nj) + 1).round().astype(int)
    parts = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    if len(parts) == 1:
        return _embed_part(parts[0])
    with mp.get_context("fork").Pool(len(parts)) as pool:
        return [item for chunk in pool.map(_embed_part, parts) for item in chunk]


def evaluate_lists(model: str, cuts_path: str, trials_dir: str | Path, out_dir: str | Path, mean_prefix: str = "dev",
                   nj: int = 1) -> dict[str, dict]:
    """Embed the utterances of every list in ``trials_dir``, subtract the mean of the ``<mean_prefix>_*``
    lists' utterances, write ``<out_dir>/{embeddings/,mean.vec,scores/}``; returns the metrics per list."""
    tdir, out_dir = Path(trials_dir), Path(out_dir)
    lists = {p.name: read_trials(p) for p in sorted(tdir.iterdir()) if p.is_file() and not p.name.startswith(".")}
    if not lists:
        raise DataError("no trial lists", tdir)
    needed = {u for trials in lists.values() for e, t, _ in trials for u in (e, t)}
    cuts = sorted((c for c in load_feature_cuts(cuts_path) if c.id in needed), key=lambda c: c.id)
    missing = sorted(needed - {c.id for c in cuts})
    if missing:
        raise DataError(f"{len(missing)} trial utterances have no cut", cuts_path, key=missing[0])
    emb_dir = out_dir / "embeddings"
    write_embeddings(emb_dir / "xvector.ark", emb_dir / "xvector.scp", embed_all(model, cuts, nj))
    keys, emb = read_embeddings(emb_dir / "xvector.scp")
    index = {k: i for i, k in enumerate(keys)}
    mean_utts = sorted({u for name, trials in lists.items() if name.startswith(mean_prefix + "_")
                        for e, t, _ in trials for u in (e, t)})
    if not mean_utts:
        raise DataError(f"no list named {mean_prefix}_* for the mean", tdir)
    mean = emb[[index[u] for u in mean_utts]].astype(np.float64).mean(axis=0)
    with atomic_path(out_dir / "mean.vec") as tmp:
        kaldiio.save_mat(str(tmp), mean.astype(np.float32))
    summary = {}
    for name, trials in lists.items():
        scores = score_trials(trials, keys, emb, mean=mean, trials_path=tdir / name)
        labels = np.array([t for _, _, t in trials], dtype=bool)
        if labels.all() or not labels.any():
            raise DataError("need both target and non-target trials", tdir / name)
        write_scores(out_dir / "scores" / f"{name}.score", trials, scores)
        metrics = compute_all(scores, labels, (0.01, 0.05))
        atomic_write_text(out_dir / "scores" / f"{name}.metrics.json", json.dumps(metrics, indent=2) + "\n")
        summary[name] = metrics
    print(f"emotion_eval: {len(cuts)} utterances embedded, mean of {len(mean_utts)} {mean_prefix} utterances; "
          + ", ".join(f"{k} EER {v['eer']:.2f}%" for k, v in summary.items() if k.endswith(("_nn", "_merged")))
          + f" -> {out_dir}", file=sys.stderr)
    return summary
