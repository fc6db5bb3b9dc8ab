"""A PCA map (PNG) of real speakers and synthetic identities, with each identity linked to its parents.

    python -m embspace.bin.inside_map --real-spk-scp exp/ge2e/embeddings/train/spk_xvector.scp \
        --spk2gender data/train/spk2gender --identities exp/inside/nn_x1/identities \
        --synth-dir exp/inside/synth/nn --encoder ge2e --out exp/inside/map.png

Synthetic identities are placed at the centroid of their synthesised utterances' embeddings (the
cache that inside_make_data wrote for ``--encoder``); identities without one (or ``--use-targets``)
are placed at their conditioning vector, which must then live in the same space as the real ones.
"""

from __future__ import annotations

import argparse
import sys

from embspace.cli.args import add_bool, cli_parser
from embspace.inside.identity_map import identity_map
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("inside_map", __doc__)
    p.add_argument("--real-spk-scp", required=True, help="real speakers' mean embeddings")
    p.add_argument("--spk2gender", required=True, help="genders of the real speakers")
    p.add_argument("--identities", required=True, help="folder with identities.jsonl and conditioning.npy")
    p.add_argument("--synth-dir", help="synthesis folder whose emb.<encoder>/ cache gives the identities' centroids")
    p.add_argument("--encoder", default="ge2e", help="encoder tag of the embedding cache (default ge2e)")
    add_bool(p, "--use-targets", False, "place identities at their conditioning vectors")
    p.add_argument("--title", default="INSIDE identities (PCA)", help="plot title")
    p.add_argument("--out", required=True, help="PNG to write")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Place every speaker and identity, draw the map."""
    args = build_parser().parse_args(argv)
    n_real, n_ident, measured = identity_map(args.real_spk_scp, args.spk2gender, args.identities, args.synth_dir,
                                             args.encoder, args.use_targets, args.title, args.out)
    print(f"inside_map: {n_real} real speakers, {n_ident} identities ({measured} at measured centroids) "
          f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
