"""Embed the evaluation utterances with one encoder and score every emotional trial list.

    python -m embspace.bin.emotion_eval --model exp/emotion/ft_all/models/avg_model.pt \
        --cuts data/emotion/eval_cuts.jsonl.gz --trials-dir data/emotion/trials --out-dir exp/emotion/ft_all
One process for what the steps scripts do in many (there are many short lists): writes
``<out-dir>/embeddings/xvector.{ark,scp}``, ``mean.vec`` (the mean of the ``--mean-prefix`` lists'
utterances: held-out training speakers, never test ones), and for each trial list ``L`` in
``--trials-dir``: ``scores/L.score`` (cosine after mean subtraction) and ``scores/L.metrics.json``
(EER, minDCF 0.01 / 0.05, as compute_metrics writes them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.emotion.evaluate import evaluate_lists
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("emotion_eval", __doc__)
    p.add_argument("--model", required=True, help="encoder model file (avg_model.pt)")
    p.add_argument("--cuts", required=True, help="cuts (with features) of every utterance in the lists")
    p.add_argument("--trials-dir", required=True, help="Kaldi trial lists, one file per list")
    p.add_argument("--out-dir", required=True, type=Path, help="embeddings/, mean.vec and scores/ go here")
    p.add_argument("--mean-prefix", default="dev", help="the mean comes from the utterances of lists named PREFIX_*")
    p.add_argument("--nj", type=int, default=1, help="embedding processes (forked; one torch thread each)")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Embed, score every list, write scores and metrics."""
    args = build_parser().parse_args(argv)
    evaluate_lists(args.model, args.cuts, args.trials_dir, args.out_dir, args.mean_prefix, args.nj)
    return 0


if __name__ == "__main__":
    sys.exit(main())
