"""INSIDE step 1: pair real speakers inside gender groups and interpolate their embeddings.

    python -m embspace.bin.inside_identities --spk-scp exp/ge2e/embeddings/train/spk_xvector.scp \
        --spk2gender data/train/spk2gender --mode nn --k 4 --identities-factor 1.0 --interp slerp \
        --alpha 0.5 --seed 0 --out-dir exp/inside/nn_x1/identities

Writes ``<out-dir>/identities.jsonl`` (id, gender, parents, cosine, θ, α, interpolation, mode, group,
neighbour rank, seed), ``conditioning.npy`` (the interpolated vectors, in identities.jsonl order)
and ``pairs.log`` (counts per group, mean parent cosine). Speaker embeddings come from speaker
means (``--spk-scp``) or utterance embeddings with ``--utt2spk``; the conditioning vectors are
interpolated in ``--bank-scp`` (default: the same embeddings, i.e. pairing space = TTS space).
"""

from __future__ import annotations

import argparse
import sys

from embspace.cli.args import add_bool, cli_parser
from embspace.inside.identities import DEFAULT_PREFIX, INTERPOLATIONS
from embspace.inside.identity_set import make_identity_set
from embspace.inside.pairing import MODES
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("inside_identities", __doc__)
    src = p.add_argument_group("source speakers")
    src.add_argument("--spk-scp", help="speaker embeddings (e.g. spk_xvector.scp), or utterance embeddings with --utt2spk")
    src.add_argument("--utt2spk", help="average the --spk-scp utterance embeddings per speaker with this utt2spk")
    src.add_argument("--spk2gender", required=True, help="gender (m/f) of every source speaker")
    src.add_argument("--speakers", help="only pair these speakers (a list, one id per line)")
    src.add_argument("--bank-scp", help="conditioning vectors to interpolate, per speaker, in the TTS's own space "
                                        "(default: --spk-scp)")
    src.add_argument("--real-ids", nargs="*", default=[],
                     help="further files whose first field lists real speaker ids that synthetic ids must not hit")
    pr = p.add_argument_group("pairing")
    pr.add_argument("--mode", default="nn", choices=MODES, help="pair selection (default nn)")
    pr.add_argument("--k", type=int, default=1, help="nn: neighbours per speaker considered (default 1)")
    pr.add_argument("--max-children", type=int, default=0, help="cap on identities per parent (0: none)")
    n = pr.add_mutually_exclusive_group(required=True)
    n.add_argument("--num-identities", type=int, help="number of synthetic identities")
    n.add_argument("--identities-factor", type=float,
                   help="number of synthetic identities as a multiple of the real speakers paired")
    pr.add_argument("--gender-ratio", type=float, default=0.5, help="share of identities from the first group")
    pr.add_argument("--groups", default="m,f", help="gender groups to pair in (comma-separated, default m,f)")
    it = p.add_argument_group("interpolation")
    it.add_argument("--interp", default="slerp", choices=sorted(INTERPOLATIONS), help="default slerp")
    a = it.add_mutually_exclusive_group()
    a.add_argument("--alpha", type=float, default=0.5, help="interpolation weight of the second parent (default 0.5)")
    a.add_argument("--alpha-range", help="draw alpha uniformly from LOW,HIGH per identity")
    add_bool(it, "--rescale-norm", False, "give each result the mean norm of its parents' raw vectors instead of unit norm")
    it.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"synthetic speaker id prefix (default {DEFAULT_PREFIX})")
    p.add_argument("--seed", type=int, default=0, help="seed of random pairing, alpha draws and identity seeds")
    p.add_argument("--out-dir", required=True, help="where identities.jsonl and conditioning.npy go")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Pair, interpolate, write identities.jsonl, conditioning.npy and pairs.log."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.spk_scp:
        parser.error("--spk-scp is required")
    alpha: float | tuple[float, float] = args.alpha
    if args.alpha_range:
        try:
            lo, hi = (float(v) for v in args.alpha_range.split(","))
        except ValueError:
            parser.error(f"--alpha-range expects LOW,HIGH, got {args.alpha_range!r}")
        alpha = (lo, hi)
    make_identity_set(args, alpha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
