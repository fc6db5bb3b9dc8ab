"""How well a TTS backend follows its conditioning vector, measured on held-out real speakers.

    python -m embspace.bin.inside_fidelity --tts-backend espeak --backend-opt model=exp/inside/condnet/model.pt \
        --targets exp/ge2e/embeddings/test/spk_xvector.scp --spk2gender data/test/spk2gender \
        --encoder ge2e --real-utt-scp exp/ge2e/embeddings/test/xvector.scp --real-utt2spk data/test/utt2spk \
        --out exp/inside/fidelity.json

The targets are real speakers' mean embeddings in the backend's conditioning space, and
``--encoder`` embeds the synthetic speech in that same space. Reported (means over identities):

* ``target_cos`` — cosine between a voice synthesised from speaker i's embedding (mean of its
  utterances) and i's embedding; ``nearest_other_cos`` — its cosine to the nearest *other* real
  speaker; ``target_rank1_fraction`` — share of voices closer to their own target than to any other;
* ``between_parents_fraction`` — share of SLERP children (nearest same-gender pairs among the
  targets, alpha 0.5) closer to their SLERP target than to either parent (``interp_target_cos``,
  ``interp_parent_cos``);
* ``self_cos`` — mean pairwise cosine among one synthetic identity's utterances; with real
  utterance embeddings, ``real_self_cos`` (same, for the real speakers) and ``real_target_cos``
  (cosine between the mean of N random real utterances and the speaker's embedding) as references.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import numpy as np
import torch
from tqdm import tqdm

from embspace.cli.args import add_bool, cli_parser
from embspace.bin._inside_options import parse_backend_opts
from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.extract import WaveformEmbedder
from embspace.inside.backend import build_backend
from embspace.inside.expand import load_texts
from embspace.inside.interp import slerp
from embspace.inside.pairing import select_pairs, unit_rows
from embspace.signal.recording import record_speaker
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_fidelity", __doc__)
    p.add_argument("--tts-backend", default="espeak", help="backend name")
    p.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE", help="backend option, repeatable")
    p.add_argument("--targets", required=True, help="held-out real speakers' embeddings (spk_xvector.scp), conditioning space")
    p.add_argument("--spk2gender", required=True, help="their genders (for the same-gender pairs)")
    p.add_argument("--encoder", default="ge2e", help="embeds the synthetic speech: 'ge2e' or a model file (same space)")
    p.add_argument("--utts-per-identity", type=int, default=4, help="utterances synthesised per voice (default 4)")
    p.add_argument("--num-targets", type=int, default=0, help="use a random subset of this many targets (0: all)")
    p.add_argument("--num-pairs", type=int, default=20, help="interpolated identities (nearest same-gender pairs)")
    p.add_argument("--alpha", type=float, default=0.5, help="interpolation weight (default 0.5)")
    add_bool(p, "--record", True, "record the voices in simulated sessions like the corpus")
    p.add_argument("--real-utt-scp", help="real utterance embeddings of the targets (for the real references)")
    p.add_argument("--real-utt2spk", help="utt2spk of --real-utt-scp")
    p.add_argument("--language", default="en", help="language of the built-in sentences (default en)")
    p.add_argument("--seed", type=int, default=0, help="seed of texts and recording conditions")
    p.add_argument("--out", required=True, help="fidelity.json")
    return p


def _pairwise_mean(x: np.ndarray) -> float:
    """Mean cosine over distinct pairs of rows."""
    x = unit_rows(x)
    s = x @ x.T
    n = len(x)
    return float((s.sum() - np.trace(s)) / (n * (n - 1))) if n > 1 else float("nan")


def _real_references(args: argparse.Namespace, targets: dict[str, np.ndarray], n: int, rng: random.Random) -> dict:
    keys, emb = read_embeddings(args.real_utt_scp)
    utt2spk = read_table(args.real_utt2spk)
    by_spk: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k not in utt2spk:
            raise DataError(f"utterance in {args.real_utt_scp} is missing from utt2spk", args.real_utt2spk, key=k)
        by_spk.setdefault(utt2spk[k], []).append(i)
    self_cos, tgt = [], []
    for spk, t in targets.items():
        idx = by_spk.get(spk, [])
        if len(idx) < max(2, n):
            continue
        pick = rng.sample(idx, n)
        self_cos.append(_pairwise_mean(emb[pick]))
        m = unit_rows(emb[pick].mean(axis=0, keepdims=True))[0]
        tgt.append(float(m @ t))
    return {"real_self_cos": round(float(np.mean(self_cos)), 4) if self_cos else None,
            "real_target_cos": round(float(np.mean(tgt)), 4) if tgt else None}


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.utts_per_identity < 2:
        parser.error("--utts-per-identity must be >= 2 (self_cos needs pairs)")
    ids, emb = read_embeddings(args.targets)
    if 0 < args.num_targets < len(ids):
        pick = sorted(random.Random(f"fidelity-{args.seed}").sample(range(len(ids)), args.num_targets))
        ids, emb = [ids[i] for i in pick], emb[pick]
    x = unit_rows(emb, ids, args.targets)
    genders = read_table(args.spk2gender)
    backend = build_backend(args.tts_backend, **parse_backend_opts(args.backend_opt, parser))
    embed = WaveformEmbedder(args.encoder)
    texts = load_texts("builtin", args.language)
    rng = random.Random(args.seed)

    def voice_embeddings(cond: np.ndarray) -> np.ndarray:
        wavs = backend.synthesize(cond, rng.sample(texts, args.utts_per_identity), args.language)
        if args.record:
            wavs = record_speaker(wavs, random.Random(rng.getrandbits(31)))
        out = embed([np.asarray(w, dtype=np.float32) for w in wavs])
        if out.shape[1] != x.shape[1]:
            raise DataError(f"--encoder gives {out.shape[1]}-dim embeddings, the targets are {x.shape[1]}-dim: "
                            "they must be the same space", args.targets)
        return out

    recon, selfs = [], []
    for i in tqdm(range(len(ids)), desc="fidelity: targets", mininterval=10, file=sys.stderr):
        e = voice_embeddings(x[i])
        selfs.append(_pairwise_mean(e))
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
        selfs.append(_pairwise_mean(e))
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
        result.update(_real_references(args, dict(zip(ids, x)), args.utts_per_identity, rng))
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print("inside_fidelity: " + ", ".join(f"{k} {v}" for k, v in result.items()) + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
