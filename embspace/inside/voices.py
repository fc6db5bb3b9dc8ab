"""Training data of the espeak conditioning network: random voices rendered, recorded and embedded
(cached per option set), and the network fit on them (``embspace.bin.inside_train_condnet``)."""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from embspace.inside.condnet import CondNetOptions, train_condnet
from embspace.inside.espeak_voice import VoiceCode, private_data_dir, sample_code, shipped_variants, speak
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

CACHE_VERSION = 1


def _render_chunk(job: tuple[list[int], dict]) -> tuple[list[int], np.ndarray, list[dict]]:
    """Render and embed voices ``idx`` (each from its own seeded stream: results do not depend on chunking)."""
    import torch

    from embspace.corpus.sentences import SENTENCES
    from embspace.extract import WaveformEmbedder
    from embspace.signal.recording import record_speaker

    idx, cfg = job
    torch.set_num_threads(1)
    anchors = shipped_variants()
    specs = {k: s for k, (_, s) in anchors.items()}
    embed = WaveformEmbedder(cfg["encoder"])
    data_dir = private_data_dir(cfg["data_dir"])
    out, codes = [], []
    for i in idx:
        rng = random.Random(f"condnet-{cfg['seed']}-{i}")
        code = sample_code(rng, "m" if i % 2 == 0 else "f", anchors, cfg["pure_fraction"])
        spec = code.realise(specs)
        wavs = [speak(spec, rng.choice(SENTENCES["en"]), data_dir, rng.getrandbits(31)) for _ in range(cfg["utts"])]
        if cfg["record"]:
            wavs = record_speaker(wavs, rng)
        out.append(embed([np.asarray(w, dtype=np.float32) for w in wavs]))
        codes.append(asdict(code))
    return list(idx), np.stack(out), codes


def render_voices(cfg: dict, nj: int) -> tuple[np.ndarray, list[VoiceCode]]:
    """Embeddings ``(N, U, D)`` and codes of ``cfg['num_voices']`` random voices, rendered by ``nj`` processes."""
    n = cfg["num_voices"]
    chunks = [list(range(n))[j::max(1, nj) * 4] for j in range(max(1, nj) * 4)]
    jobs = [(c, cfg) for c in chunks if c]
    emb: list[np.ndarray | None] = [None] * n
    codes: list[dict | None] = [None] * n
    t0 = time.time()
    if nj > 1:
        with mp.get_context("fork").Pool(nj) as pool:
            results = pool.imap_unordered(_render_chunk, jobs)
            for k, (idx, e, c) in enumerate(results, 1):
                for j, i in enumerate(idx):
                    emb[i], codes[i] = e[j], c[j]
                print(f"inside_train_condnet: rendered {k}/{len(jobs)} chunks ({time.time() - t0:.0f} s)", file=sys.stderr)
    else:
        for idx, e, c in map(_render_chunk, jobs):
            for j, i in enumerate(idx):
                emb[i], codes[i] = e[j], c[j]
    return np.stack(emb), [VoiceCode(**c) for c in codes]


def cache_key(cfg: dict) -> str:
    """A digest of every option that changes the rendered embeddings (the encoder by its file's bytes)."""
    enc = cfg["encoder"]
    enc_id = enc if enc == "ge2e" else hashlib.sha256(Path(enc).read_bytes()).hexdigest()
    fields = {k: v for k, v in cfg.items() if k not in ("encoder", "data_dir")}
    return hashlib.sha256(json.dumps({**fields, "encoder": enc_id, "v": CACHE_VERSION}, sort_keys=True).encode()).hexdigest()[:16]


def cached_voices(cfg: dict, out: Path, nj: int) -> tuple[np.ndarray, list[VoiceCode]]:
    """The voices of ``cfg`` from ``<out>/voices.<key>.npz``, rendered and cached there when absent."""
    cache = out / f"voices.{cache_key(cfg)}.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        emb, codes = z["emb"], [VoiceCode(**c) for c in json.loads(str(z["codes"]))]
        print(f"inside_train_condnet: {len(codes)} rendered voices from {cache}", file=sys.stderr)
        return emb, codes
    t0 = time.time()
    emb, codes = render_voices(cfg, nj)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, emb=emb, codes=np.array(json.dumps([asdict(c) for c in codes])))
    print(f"inside_train_condnet: rendered and embedded {len(codes)} voices x {cfg['utts']} "
          f"utterances in {time.time() - t0:.0f} s -> {cache}", file=sys.stderr)
    return emb, codes


def train_on_voices(args: argparse.Namespace) -> Path:
    """Render (or reuse) the voices the options of ``inside_train_condnet`` ask for, fit the network,
    write ``model.pt`` and ``summary.json`` to ``args.out_dir``; returns the model's path."""
    import torch

    torch.set_num_threads(1)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if args.encoder != "ge2e" and not Path(args.encoder).is_file():
        raise DataError("encoder model not found", args.encoder)
    if args.num_voices < 10 or args.utts_per_voice < 1:
        raise DataError("need --num-voices >= 10 and --utts-per-voice >= 1", key="num_voices")
    cfg = {"encoder": args.encoder, "num_voices": args.num_voices, "utts": args.utts_per_voice,
           "pure_fraction": args.pure_fraction, "record": args.record, "seed": args.seed,
           "data_dir": args.espeak_data_dir or str(out / "espeak-ng-data")}
    emb, codes = cached_voices(cfg, out, args.nj)
    x, xc, voice = emb.mean(axis=1), list(codes), np.arange(len(codes))
    if args.utterance_inputs and emb.shape[1] > 1:
        x = np.concatenate([x] + [emb[:, u] for u in range(emb.shape[1])])
        xc = xc * (emb.shape[1] + 1)
        voice = np.tile(voice, emb.shape[1] + 1)
    opts = CondNetOptions(hidden=args.hidden, layers=args.layers, dropout=args.dropout, epochs=args.epochs,
                          lr=args.lr, weight_decay=args.weight_decay, blend_top=args.blend_top, seed=args.seed)
    anchors = {name: spec.variant_text() for name, (_, spec) in shipped_variants().items()}
    mapper, summary = train_condnet(x, xc, anchors, opts, meta={"encoder": args.encoder if args.encoder == "ge2e"
                                                                 else Path(args.encoder).name}, groups=voice)
    mapper.save(out / "model.pt")
    summary = {**summary, "encoder": args.encoder, "num_voices": args.num_voices, "utts_per_voice": args.utts_per_voice,
               "utterance_inputs": args.utterance_inputs}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    print("inside_train_condnet: " + ", ".join(f"{k} {v}" for k, v in summary.items()) + f" -> {out / 'model.pt'}",
          file=sys.stderr)
    return out / "model.pt"
