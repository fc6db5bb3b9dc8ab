"""Compute and store lhotse fbank features for a corpus split.

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
    p.add_argument("--manifest-dir", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--num-mel-bins", type=int, default=80)
    p.add_argument("--nj", type=int, default=1)
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
