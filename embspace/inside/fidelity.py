"""How well a TTS backend follows its conditioning vector, measured on held-out real speakers
(``embspace.bin.inside_fidelity``): target and interpolation fidelity, self-similarity, real references."""

from __future__ import annotations

import argparse
import random
import sys
from typing import Callable

import numpy as np
from tqdm import tqdm

from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.inside.interp import slerp
from embspace.inside.pairing import select_pairs, unit_rows
from embspace.utils.errors import DataError


def pairwise_mean(x: np.ndarray) -> float:
    """Mean cosine over distinct pairs of rows."""
    x = unit_rows(x)
    s = x @ x.T
    n = len(x)
    return float((s.sum() - np.trace(s)) / (n * (n - 1))) if n > 1 else float("nan")


def real_references(utt_scp: str, utt2spk_path: str, targets: dict[str, np.ndarray], n: int,
                    rng: random.Random) -> dict:
    """``real_self_cos`` and ``real_target_cos`` of ``n`` random real utterances per target speaker."""
    keys, emb = read_embeddings(utt_scp)
    utt2spk = read_table(utt2spk_path)
    by_spk: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k not in utt2spk:
            raise DataError(f"utterance in {utt_scp} is missing from utt2spk", utt2spk_path, key=k)
        by_spk.setdefault(utt2spk[k], []).append(i)
    self_cos, tgt = [], []
    for spk, t in targets.items():
        idx = by_spk.get(spk, [])
        if len(idx) < max(2, n):
            continue
        pick = rng.sample(idx, n)
        self_cos.append(pairwise_mean(emb[pick]))
        m = unit_rows(emb[pick].mean(axis=0, keepdims=True))[0]
        tgt.append(float(m @ t))
    return {"real_self_cos": round(float(np.mean(self_cos)), 4) if self_cos else None,
            "real_target_cos": round(float(np.mean(tgt)), 4) if tgt else None}


def _voice_embedder(args: argparse.Namespace, backend, dim: int, rng: random.Random) -> Callable[[np.ndarray], np.ndarray]:
    """Conditioning vector -> embeddings of ``--utts-per-identity`` utterances synthesised from it."""
    from embspace.extract import WaveformEmbedder
    from embspace.inside.expand import load_texts
    from embspace.signal.recording import record_speaker

    embed = WaveformEmbedder(args.encoder)
    texts = load_texts("builtin", args.language)

    def voice_embeddings(cond: np.ndarray) -> np.ndarray:
        wavs = backend.synthesize(cond, rng.sample(texts, args.utts_per_identity), args.language)
        if args.record:
            wavs = record_speaker(wavs, random.Random(rng.getrandbits(31)))
        out = embed([np.asarray(w, dtype=np.float32) for w in wavs])
        if out.shape[1] != dim:
            raise DataError(f"--encoder gives {out.shape[1]}-dim embeddings, the targets are {dim}-dim: "
                            "they must be the same space", args.targets)
        return out

    return voice_embeddings


def _targets(args: argparse.Namespace) -> tuple[list[str], np.ndarray]:
    """The target speakers (a seeded subset with ``--num-targets``) and their unit embeddings."""
    ids, emb = read_embeddings(args.targets)
    if 0 < args.num_targets < len(ids):
        pick = sorted(random.Random(f"fidelity-{args.seed}").sample(range(len(ids)), args.num_targets))
        ids, emb = [ids[i] for i in pick], emb[pick]
    return ids, unit_rows(emb, ids, args.targets)


def measure_fidelity(args: argparse.Namespace, backend) -> dict:
    """The figures the options of ``inside_fidelity`` ask for, of ``backend`` (see that command)."""
    ids, x = _targets(args)
    genders = read_table(args.spk2gender)
    rng = random.Random(args.seed)
    voice_embeddings = _voice_embedder(args, backend, x.shape[1], rng)
    recon, selfs = [], []
    for i in tqdm(range(len(ids)), desc="fidelity: targets", mininterval=10, file=sys.stderr):
        e = voice_embeddings(x[i])
        selfs.append(pairwise_mean(e))
        recon.append(unit_rows(e.mean(axis=0, keepdims=True))[0])
    sims = np.stack(recon) @ x.T
    target = np.diag(sims).copy()
    np.fill_diagonal(sims, -np.inf)
    other = sims.max(axis=1)
    pairs = select_pairs(ids, x, genders, "nn", min(args.num_pairs, len(ids) // 2), k=3, max_children=2,
                         seed=args.seed, source=args.targets)
    index = {s: i for i, s in enumerate(ids)}
    between, icos, pcos = [], [], []
    for p in tqdm(pairs, desc="fidelity: children", mininterval=10, file=sys.stderr):
        a, b = x[index[p.a]], x[index[p.b]]
        t = slerp(a, b, args.alpha)
        e = voice_embeddings(t)
        selfs.append(pairwise_mean(e))
        c = unit_rows(e.mean(axis=0, keepdims=True))[0]
        icos.append(float(c @ t))
        pcos.append(max(float(c @ a), float(c @ b)))
        between.append(icos[-1] > pcos[-1])
    result = {"target_cos": round(float(target.mean()), 4), "nearest_other_cos": round(float(other.mean()), 4),
              "target_rank1_fraction": round(float(np.mean(target > other)), 4),
              "between_parents_fraction": round(float(np.mean(between)), 4),
              "interp_target_cos": round(float(np.mean(icos)), 4), "interp_parent_cos": round(float(np.mean(pcos)), 4),
              "self_cos": round(float(np.mean(selfs)), 4), "num_targets": len(ids), "num_pairs": len(pairs),
              "utts_per_identity": args.utts_per_identity, "alpha": args.alpha, "record": args.record,
              "backend": backend.name, "space": backend.space, "encoder": args.encoder}
    if args.real_utt_scp and args.real_utt2spk:
        result.update(real_references(args.real_utt_scp, args.real_utt2spk, dict(zip(ids, x)),
                                      args.utts_per_identity, rng))
    return result
