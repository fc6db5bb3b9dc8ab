"""INSIDE step 2: synthesise the identities of one job with a TTS backend (resumable per identity).

    python -m embspace.bin.inside_synthesize --identities exp/inside/nn_x1/identities \
        --out-dir exp/inside/synth --tts-backend espeak --backend-opt model=exp/inside/condnet/model.pt \
        --utts-per-identity 6 --record true --job 1 --nj 2

Writes ``<out-dir>/wav/<id>/<id>-uNNN.wav`` and, per finished identity, ``<out-dir>/records/<id>.json``;
identities with a record are skipped, so a rerun resumes. Identities are split over ``--nj`` jobs
in contiguous parts (run them through ``$cmd JOB=1:N``). The ``command`` backend is driven in batch
by ``inside_command_jobs`` instead (one job list per ``$cmd`` task).
"""

from __future__ import annotations

import argparse
import sys

import torch
from tqdm import tqdm

from embspace.bin._inside_options import add_text_options, parse_backend_opts, synthesis_options
from embspace.cli.args import add_job_options, check_job_options, cli_parser
from embspace.extract import split_for_job
from embspace.inside.backend import build_backend
from embspace.inside.expand import load_texts
from embspace.inside.identities import read_identities
from embspace.inside.synthesis import synthesize_identities
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_synthesize", __doc__)
    p.add_argument("--identities", required=True, help="folder with identities.jsonl and conditioning.npy")
    p.add_argument("--out-dir", required=True, help="synthesis folder (wav/, records/)")
    p.add_argument("--tts-backend", default="espeak", help="backend name (embspace/inside/backends/<name>.py)")
    p.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="backend constructor option, repeatable (espeak: model=..., data_dir=...)")
    add_text_options(p)
    add_job_options(p, "the identities")
    p.add_argument("--num-threads", type=int, default=1, help="torch threads")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_job_options(parser, args)
    torch.set_num_threads(args.num_threads)
    idents, cond = read_identities(args.identities)
    part = split_for_job(list(range(len(idents))), args.job, args.nj)
    texts = load_texts(args.text_source, args.language, args.text_format)
    backend = build_backend(args.tts_backend, **parse_backend_opts(args.backend_opt, parser))
    counts = synthesize_identities(backend, [idents[i] for i in part], cond[list(part)], texts, args.out_dir,
                                   synthesis_options(args), source=f"{args.identities}/identities.jsonl",
                                   progress=lambda it: tqdm(it, desc=f"synth job {args.job}", mininterval=10, file=sys.stderr))
    print(f"inside_synthesize: job {args.job}/{args.nj}: {counts['done']} identities synthesised, "
          f"{counts['skipped']} already done -> {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
