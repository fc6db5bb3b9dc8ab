"""INSIDE for gender classification: pick a small real training subset, then train and evaluate a
classifier with and without synthetic identities made from that subset.

    python -m embspace.bin.inside_gender select --spk2gender data/train/spk2gender --per-gender 3 \
        --seed 0 --out exp/inside/gender_speakers.txt
    (inside_identities --speakers exp/inside/gender_speakers.txt ..., synthesis, inside_make_data --embeddings-out ...)
    python -m embspace.bin.inside_gender eval --speakers exp/inside/gender_speakers.txt \
        --spk2gender data/train/spk2gender --train-scp exp/ge2e/embeddings/train/xvector.scp --train-utt2spk data/train/utt2spk \
        --synthetic-scp exp/x/inside/data/gender/xvector.scp --synthetic-data data/inside_x_gender \
        --test-scp exp/ge2e/embeddings/test/xvector.scp --test-data data/test --out-dir exp/x/inside/gender

The classifier is a logistic regression on utterance embeddings of a frozen speaker encoder (a
2-way head on an SV backbone; embspace/classify.py). Training on a few real speakers makes the task
informative (the real-only classifier errs now and then); the synthetic identities are interpolated
only between those same speakers, so the INSIDE classifier sees no label the real-only one does not.
The L2 weight of each classifier is chosen on the dev set (the real training speakers outside the
subset), never on the test set. Writes ``real.metrics.json`` and ``inside.metrics.json`` (accuracy,
error_rate in percent, dev figures) and ``*.predictions`` (utt, truth, predicted) for the test set.
"""

from __future__ import annotations

import argparse
import sys

from embspace.cli.args import cli_parser
from embspace.inside.gender import evaluate_gender, select_speakers
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("inside_gender", __doc__)
    p.add_argument("action", choices=["select", "eval"], help="choose the training subset, or train and evaluate")
    p.add_argument("--spk2gender", required=True, help="genders of the real training speakers")
    p.add_argument("--per-gender", type=int, default=3, help="select: real speakers per gender in the subset (default 3)")
    p.add_argument("--seed", type=int, default=0, help="select: seed of the choice")
    p.add_argument("--out", help="select: the speaker list to write")
    p.add_argument("--speakers", help="eval: the training subset (from select)")
    p.add_argument("--train-scp", help="eval: utterance embeddings of the real training set")
    p.add_argument("--train-utt2spk", help="eval: its utt2spk")
    p.add_argument("--synthetic-scp", help="eval: utterance embeddings of the synthetic identities (same encoder)")
    p.add_argument("--synthetic-data", help="eval: Kaldi dir of the synthetic identities (utt2spk, spk2gender)")
    p.add_argument("--test-scp", help="eval: utterance embeddings of the real test set")
    p.add_argument("--test-data", help="eval: Kaldi dir of the test set (utt2spk, spk2gender)")
    p.add_argument("--out-dir", help="eval: where the metrics and predictions go")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """select: write the training subset; eval: train, evaluate and write metrics and predictions."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action == "select":
        if not args.out:
            parser.error("select needs --out")
        chosen = select_speakers(args.spk2gender, args.per_gender, args.seed, args.out)
        print(f"inside_gender: {len(chosen)} training speakers -> {args.out}", file=sys.stderr)
        return 0
    needed = ("speakers", "train_scp", "train_utt2spk", "synthetic_scp", "synthetic_data", "test_scp", "test_data",
              "out_dir")
    missing = [n for n in needed if not getattr(args, n)]
    if missing:
        parser.error("eval needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
    evaluate_gender(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
