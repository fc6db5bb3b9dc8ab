"""Enhance embeddings with a trained SEED model: one job of each of several embedding sets.

    python -m embspace.bin.seed_enhance --model exp/ecapa_mini_seed/seed_model.pt \
        --extractor exp/ecapa_mini/models/avg_model.pt --in-root exp/ecapa_mini/embeddings \
        --out-root exp/ecapa_mini_seed/embeddings --job 1 --nj 2 train test
reads ``<in-root>/<set>/xvector.scp`` and writes ``<out-root>/<set>/xvector.<job>.ark/scp`` for
every set named (one process for all of them: the start-up costs more than the work). Or one
embedding table anywhere (like ``nessa_apply``)::

    python -m embspace.bin.seed_enhance --model seed_model.pt --scp emb/xvector.scp --out-dir emb_seed
writes ``<out-dir>/xvector.ark/scp`` (one job).

Single-step enhancement at ``--t-star`` (default: the model's), averaged over ``--num-draws``
noise draws, or a DDIM chain with ``--ddim-steps N``. The noise of each embedding depends only
on ``--eval-seed`` and its key, so the result does not depend on ``--nj`` (up to float rounding).
Every input vector is checked (NaN, zero, dimension against the model) before anything is written;
``--extractor`` refuses a model trained on another extractor's embeddings.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from embspace.bin._seed_options import add_inference_options, inference_settings
from embspace.cli.args import add_job_options, add_use_gpu, check_job_options, cli_parser, gpu_device
from embspace.embio import read_embeddings, write_embeddings
from embspace.extract import extractor_identity, split_for_job
from embspace.seed.checkpoint import check_dim, load_seed_model
from embspace.seed.enhance import enhance_table
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("seed_enhance", __doc__)
    p.add_argument("--model", required=True, help="SEED model file (seed_model.pt)")
    p.add_argument("--in-root", help="folder of the input sets (<set>/xvector.scp)")
    p.add_argument("--out-root", help="folder of the enhanced sets (<set>/xvector.<job>.ark/scp)")
    p.add_argument("sets", nargs="*", help="names of the embedding sets, e.g. train test")
    p.add_argument("--scp", help="instead: one embedding table (any scp) ...")
    p.add_argument("--out-dir", help="... enhanced into <out-dir>/xvector.ark/scp")
    add_job_options(p, "the scp files")
    p.add_argument("--eval-seed", type=int, default=1, help="seed of the diffusion noise")
    p.add_argument("--batch-size", type=int, default=4096, help="embeddings per forward pass")
    add_use_gpu(p, "run on a GPU")
    p.add_argument("--num-threads", type=int, default=1, help="torch CPU threads")
    add_inference_options(p)
    args = p.parse_args(argv)
    check_job_options(p, args)
    if args.scp or args.out_dir:
        if not (args.scp and args.out_dir) or args.in_root or args.out_root or args.sets or args.nj != 1:
            p.error("--scp goes with --out-dir, without --in-root/--out-root, set names or --nj")
        jobs = [(args.scp, Path(args.out_dir), "xvector")]
    elif args.in_root and args.out_root and args.sets:
        jobs = [(Path(args.in_root) / n / "xvector.scp", Path(args.out_root) / n, f"xvector.{args.job}") for n in args.sets]
    else:
        p.error("give --in-root, --out-root and set names, or --scp and --out-dir")
    torch.set_num_threads(args.num_threads)
    device = gpu_device(args)
    identity = extractor_identity(args.extractor) if args.extractor else None
    enhancer, meta = load_seed_model(args.model, device, identity)
    t_star, draws, ddim = inference_settings(args, meta)
    tables = []
    for scp, out_dir, stem in jobs:  # check every input before writing anything
        keys, emb = read_embeddings(scp)
        check_dim(meta["seed"], emb.shape[1], args.model, scp, keys[0])
        tables.append((out_dir, stem, keys, emb))
    for out_dir, stem, keys, emb in tables:
        part = split_for_job(range(len(keys)), args.job, args.nj)
        job_keys = [keys[i] for i in part]
        out = enhance_table(enhancer, job_keys, emb[part.start:part.stop], args.eval_seed, t_star, draws, ddim,
                            args.batch_size, device) if job_keys else []
        n = write_embeddings(out_dir / f"{stem}.ark", out_dir / f"{stem}.scp", zip(job_keys, out), allow_empty=True)
        print(f"seed_enhance: {out_dir}: job {args.job}/{args.nj}: {n} embeddings, t*={t_star}, {draws} draw(s)"
              f"{f', DDIM {ddim} steps' if ddim > 1 else ''}, seed {args.eval_seed} on {device}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
