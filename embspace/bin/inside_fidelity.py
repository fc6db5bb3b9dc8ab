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
import sys

import torch

from embspace.bin._inside_options import parse_backend_opts
from embspace.cli.args import add_bool, cli_parser
from embspace.inside.backend import build_backend
from embspace.inside.fidelity import measure_fidelity
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
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


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Synthesise from every target and interpolated pair, write the figures to --out."""
    parser = build_parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.utts_per_identity < 2:
        parser.error("--utts-per-identity must be >= 2 (self_cos needs pairs)")
    result = measure_fidelity(args, build_backend(args.tts_backend, **parse_backend_opts(args.backend_opt, parser)))
    atomic_write_text(args.out, json.dumps(result, indent=1) + "\n")
    print("inside_fidelity: " + ", ".join(f"{k} {v}" for k, v in result.items()) + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
