"""Cosine scoring of a trials list, optionally with mean subtraction and AS-norm.

Example:
    python -m embspace.bin.score --trials data/test/trials --test-scp exp/ecapa/embeddings/test/xvector.scp \
        --mean-vec exp/ecapa/embeddings/train/mean.vec --cohort-scp exp/ecapa/embeddings/train/spk_xvector.scp \
        --top-n 300 --output exp/ecapa/scores_asnorm/mini_test.score --info-json exp/ecapa/scores_asnorm/mini_test.scoring.json

Writes ``<enroll> <test> <score> target|nontarget`` lines. Every input is read and checked
before the output is written (atomically). With a cohort, a ``--top-n`` larger than the cohort is
a warning (AS-norm then uses the whole cohort: s-norm); ``--info-json`` records the cohort size and
the top-N used, for compute_metrics --scoring-info and the results rows.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from embspace.cli.args import cli_parser
from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.scoring.cosine import score_trials, write_scores
from embspace.scoring.norm import score_trials_asnorm
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("score", __doc__)
    p.add_argument("--trials", required=True, help="Kaldi trials: <enroll> <test> target|nontarget")
    p.add_argument("--test-scp", required=True, help="test (and by default enrollment) embeddings")
    p.add_argument("--enroll-scp", help="enrollment embeddings, per utterance or per speaker (spk_xvector.scp)")
    m = p.add_mutually_exclusive_group()
    m.add_argument("--mean-scp", help="subtract the mean of these embeddings (e.g. the training set)")
    m.add_argument("--mean-vec", help="subtract this vector (Kaldi mean.vec, or plain numbers)")
    p.add_argument("--cohort-scp", help="AS-norm cohort embeddings (e.g. training speakers' means)")
    p.add_argument("--top-n", type=int, default=300, help="AS-norm top-N cohort scores; <= 0: s-norm (all)")
    p.add_argument("--output", required=True, help="score file to write")
    p.add_argument("--info-json", help="write the scoring settings used ({cohort_size, top_n, ...}) here")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Score the trials and write the score file."""
    args = build_parser().parse_args(argv)
    if args.top_n == 1:
        build_parser().error("--top-n must be >= 2, or <= 0 for the whole cohort")
    trials = read_trials(args.trials)
    if not trials:
        raise DataError("no trials", args.trials)
    keys, emb = read_embeddings(args.test_scp)
    enroll_keys = enroll_emb = None
    if args.enroll_scp:
        enroll_keys, enroll_emb = read_embeddings(args.enroll_scp)
    mean = None
    if args.mean_scp:
        mean = read_embeddings(args.mean_scp)[1].astype(np.float64).mean(axis=0)
    elif args.mean_vec:
        mean = read_vector(args.mean_vec)
    dims = {args.test_scp: emb.shape[1]}
    if enroll_emb is not None:
        dims[args.enroll_scp] = enroll_emb.shape[1]
    if mean is not None:
        dims[args.mean_scp or args.mean_vec] = mean.shape[0]
    cohort = None
    if args.cohort_scp:
        cohort = read_embeddings(args.cohort_scp)[1]
        if len(cohort) < 2:
            raise DataError("the AS-norm cohort needs at least 2 embeddings", args.cohort_scp)
        dims[args.cohort_scp] = cohort.shape[1]
    if len(set(dims.values())) > 1:
        raise DataError("embedding dimensions differ: " + ", ".join(f"{p}: {d}" for p, d in dims.items()),
                        args.test_scp)
    sources = (args.enroll_scp or args.test_scp, args.test_scp)
    info: dict[str, object] = {"norm": "none"}
    if cohort is None:
        scores = score_trials(trials, keys, emb, enroll_keys, enroll_emb, mean, trials_path=args.trials, sources=sources)
    else:
        used = len(cohort) if args.top_n <= 0 else min(args.top_n, len(cohort))
        if args.top_n > len(cohort):
            print(f"score: warning: --top-n {args.top_n} exceeds the AS-norm cohort of {len(cohort)} embeddings "
                  f"({args.cohort_scp}); using all {len(cohort)}, i.e. plain s-norm", file=sys.stderr)
        info = {"norm": "asnorm", "cohort_size": len(cohort), "top_n": used}
        if args.top_n != used:
            info["top_n_requested"] = args.top_n
        scores = score_trials_asnorm(trials, keys, emb, cohort, args.top_n, enroll_keys, enroll_emb, mean,
                                     trials_path=args.trials, sources=sources)
    write_scores(args.output, trials, scores)
    if args.info_json:
        atomic_write_text(args.info_json, json.dumps(info, indent=2) + "\n")
    print(f"score: wrote {len(trials)} scores to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
