"""Compute and store lhotse fbank features for a corpus split.

Example:
    python -m embspace.bin.compute_fbank --manifest-dir data/manifests --corpus mini --split train \
        --out-dir data/fbank --num-mel-bins 80 --nj 2
writes ``<out-dir>/<corpus>_cuts_<split>.jsonl.gz`` and ``<out-dir>/<corpus>_feats_<split>/``.

Over launcher jobs (steps/compute_fbank.sh does this; the bytes are the same as in one process):
    python -m embspace.bin.compute_fbank ... --prepare-jobs
    $train_cmd JOB=1:4 log/fbank.JOB.log python -m embspace.bin.compute_fbank ... --job JOB --nj 4
    python -m embspace.bin.compute_fbank ... --finish-jobs
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from embspace.cli.args import cli_parser
from embspace.data.manifests import load_cuts
from embspace.features.fbank import compute_and_store, compute_job, finish_jobs, prepare_jobs
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Compute and store the features (in one process, or one launcher job's part of them)."""
    p = cli_parser("compute_fbank", __doc__)
    p.add_argument("--manifest-dir", required=True, help="folder of the lhotse recordings/supervisions manifests")
    p.add_argument("--corpus", required=True, help="corpus name (manifest file name prefix)")
    p.add_argument("--split", required=True, help="split name (train, test...)")
    p.add_argument("--out-dir", required=True, help="where the cuts and the lilcom feature chunks go")
    p.add_argument("--num-mel-bins", type=int, default=80, help="mel filters = feature dimension (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help="parallel feature-extraction processes; with --job: the "
                   "number of launcher jobs (default: %(default)s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--prepare-jobs", action="store_true", help="make the empty folder the launcher jobs share")
    g.add_argument("--job", type=int, help="compute the shards of this launcher job (1..--nj) into that folder")
    g.add_argument("--finish-jobs", action="store_true", help="check every job's shards, then store the version "
                   "and swap in the manifest")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out_dir)
    out_cuts, storage = out / f"{args.corpus}_cuts_{args.split}.jsonl.gz", out / f"{args.corpus}_feats_{args.split}"
    if args.prepare_jobs:
        print(f"compute_fbank: jobs share {prepare_jobs(out_cuts, storage)}", file=sys.stderr)
        return 0
    cuts = load_cuts(args.manifest_dir, args.corpus, args.split)
    if args.job is not None:
        n = compute_job(cuts, storage, args.num_mel_bins, args.job, args.nj)
        print(f"compute_fbank: job {args.job}/{args.nj}: {n} shards", file=sys.stderr)
        return 0
    if args.finish_jobs:
        feats = finish_jobs(cuts, out_cuts, storage)
    else:
        feats = compute_and_store(cuts, out_cuts, storage, args.num_mel_bins, args.nj)
    frames = sum(c.num_frames for c in feats)
    print(f"compute_fbank: {len(feats)} cuts, {frames} frames -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
