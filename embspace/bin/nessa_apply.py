"""Map embeddings of one model into a NESSA mapper's shared space: read an scp, write a mapped scp.

    python -m embspace.bin.nessa_apply --mapper exp/nessa/ge2e-ecapa_mini/mlp/mapper.pt --side x \\
        --scp exp/ge2e/embeddings/test/xvector.scp --out-dir exp/nessa/ge2e-ecapa_mini/mlp/test_x
    # enrollment profiles (average of several utterances), mapped per utterance then averaged:
    python -m embspace.bin.nessa_apply ... --profiles data/test/profiles --profile-mode map_then_average

``--side x`` is the mapper's model X (the old model it was trained with), ``--side y`` model Y.
The outputs (``xvector.ark/scp``) are length-normalised vectors of the shared space: score them
with plain cosine (``embspace.bin.score`` without a mean). Everything is checked before anything
is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.embio import read_embeddings, write_embeddings
from embspace.nessa import PROFILE_MODES, check_dim, embed_side, load_aligner, read_profiles
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("nessa_apply", __doc__)
    p.add_argument("--mapper", required=True, help="mapper.pt written by nessa_train")
    p.add_argument("--side", required=True, choices=["x", "y"], help="which model of the mapper made --scp")
    p.add_argument("--scp", required=True, help="embeddings to map")
    p.add_argument("--out-dir", required=True, help="writes xvector.ark and xvector.scp here")
    p.add_argument("--profiles", help="average into profiles: lines '<profile> <utt> <utt>...'")
    p.add_argument("--profile-mode", default="map_then_average", choices=PROFILE_MODES,
                   help="map every utterance then average, or average the normalised inputs then map")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Load, check, map, write."""
    args = build_parser().parse_args(argv)
    aligner, _ = load_aligner(args.mapper)
    keys, emb = read_embeddings(args.scp)
    name = aligner.config.get(f"{args.side}_name", args.side)
    check_dim(emb, aligner.dim(args.side), args.scp, keys[0], f"the {args.side} input of {args.mapper} ('{name}')")
    profiles = read_profiles(args.profiles) if args.profiles else None
    out_keys, z = embed_side(aligner, args.side, keys, emb, profiles, args.profile_mode, args.profiles or "", args.scp)
    out = Path(args.out_dir)
    n = write_embeddings(out / "xvector.ark", out / "xvector.scp", zip(out_keys, z))
    print(f"nessa_apply: {n} {'profiles' if profiles else 'embeddings'} of side {args.side} ({name}) -> "
          f"{out / 'xvector.scp'} (dim {z.shape[1]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
