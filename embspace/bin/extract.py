"""Extract utterance embeddings for one job of a split: ``<out-dir>/xvector.<job>.ark/scp``.

Example:
    python -m embspace.bin.extract --model exp/ecapa/models/avg_model.pt \
        --cuts data/fbank/mini_cuts_test.jsonl.gz --job 1 --nj 4 --out-dir exp/ecapa/embeddings/test
``--model ge2e`` uses the pretrained GE2E encoder shipped with resemblyzer (reads audio, not fbank).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from lhotse import CutSet
from tqdm import tqdm

from embspace.embio import write_embeddings
from embspace.extract import embed_with_encoder, embed_with_ge2e, load_encoder, split_for_job
from embspace.training.distributed import pick_device
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="extract", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="encoder model file, or 'ge2e'")
    p.add_argument("--cuts", required=True, help="cuts with fbank features (audio for ge2e)")
    p.add_argument("--out-dir", required=True, help="writes xvector.<job>.ark/scp here")
    p.add_argument("--job", type=int, default=1, help="this job's number, 1..nj (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help="number of jobs the cuts are split into (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=1, help="utterances per forward pass (default: %(default)s)")
    p.add_argument("--use-gpu", default="false", choices=["true", "false"], help="run the encoder on CUDA")
    p.add_argument("--num-threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.num_threads)
    device = pick_device("cuda" if args.use_gpu == "true" else "cpu", 0)
    cuts = split_for_job(sorted(CutSet.from_file(args.cuts).to_eager(), key=lambda c: c.id), args.job, args.nj)
    if args.model == "ge2e":
        items = embed_with_ge2e(cuts, device)
    else:
        items = embed_with_encoder(load_encoder(args.model, device), cuts, device, args.batch_size)
    out = Path(args.out_dir)
    n = write_embeddings(out / f"xvector.{args.job}.ark", out / f"xvector.{args.job}.scp",
                         tqdm(items, total=len(cuts), desc=f"extract job {args.job}", mininterval=30, file=sys.stderr))
    print(f"extract: job {args.job}/{args.nj}: {n} embeddings on {device}"
          f" (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
