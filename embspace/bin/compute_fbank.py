"""Compute and store lhotse fbank features for a corpus split.

Example:
    python -m embspace.bin.compute_fbank --manifest-dir data/manifests --corpus mini --split train \
        --out-dir data/fbank --num-mel-bins 80 --nj 2
writes ``<out-dir>/<corpus>_cuts_<split>.jsonl.gz`` and ``<out-dir>/<corpus>_feats_<split>/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from embspace.data.manifests import load_cuts
from embspace.features.fbank import compute_and_store
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="compute_fbank", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest-dir", required=True, help="folder of the lhotse recordings/supervisions manifests")
    p.add_argument("--corpus", required=True, help="corpus name (manifest file name prefix)")
    p.add_argument("--split", required=True, help="split name (train, test...)")
    p.add_argument("--out-dir", required=True, help="where the cuts and the lilcom feature chunks go")
    p.add_argument("--num-mel-bins", type=int, default=80, help="mel filters = feature dimension (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help="parallel feature-extraction processes (default: %(default)s)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    cuts = load_cuts(args.manifest_dir, args.corpus, args.split)
    out = Path(args.out_dir)
    feats = compute_and_store(cuts, out / f"{args.corpus}_cuts_{args.split}.jsonl.gz",
                              out / f"{args.corpus}_feats_{args.split}", args.num_mel_bins, args.nj)
    frames = sum(c.num_frames for c in feats)
    print(f"compute_fbank: {len(feats)} cuts, {frames} frames -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
