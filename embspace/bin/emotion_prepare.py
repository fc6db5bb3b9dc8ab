"""Fine-tuning cuts, evaluation cuts and trial lists for emotion-invariant speaker verification.

    python -m embspace.bin.emotion_prepare --train-cuts data/fbank/mini_cuts_train.jsonl.gz \
        data/fbank/mini_emotion_cuts_train.jsonl.gz --test-cuts data/fbank/mini_cuts_test.jsonl.gz \
        data/fbank/mini_emotion_cuts_test.jsonl.gz --emotion-field style --dev-speakers 10 --out-dir data/emotion
Training speakers are split into fine-tuning speakers and ``--dev-speakers`` held-out ones (the dev
lists, for choosing hyper-parameters; never the test lists). Writes ``<out-dir>/finetune_cuts.jsonl.gz``,
``eval_cuts.jsonl.gz`` (every utterance of a trial list), ``trials/{dev,test}_{nn,<emotion>,merged}``
and ``summary.json``. Every utterance needs an emotion label in ``supervision.custom[<field>]``; a
label outside ``--emotions`` is an error naming the cut (or skipped and counted with
``--unknown-emotion skip``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.emotion.prepare import prepare
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("emotion_prepare", __doc__)
    p.add_argument("--train-cuts", nargs="+", required=True, help="cut manifests of the training speakers (with features)")
    p.add_argument("--test-cuts", nargs="+", required=True, help="cut manifests of the test speakers (with features)")
    p.add_argument("--out-dir", required=True, type=Path, help="where the cuts, trials and summary go")
    p.add_argument("--emotion-field", default="emotion", help="supervision.custom key of the emotion label")
    p.add_argument("--neutral-label", default="neutral", help="the label of neutral speech")
    p.add_argument("--emotions", default="", help="comma list of the non-neutral labels to use ('' = all found)")
    p.add_argument("--unknown-emotion", default="error", choices=["error", "skip"],
                   help="a label outside --emotions: stop with an error, or leave the utterance out (counted)")
    p.add_argument("--dev-speakers", type=float, default=10,
                   help="training speakers held out for the dev lists: a count, or a share when below 1 (at least 2)")
    p.add_argument("--enroll-per-spk", type=int, default=3, help="neutral enrollment utterances per speaker")
    p.add_argument("--neutral-test-per-spk", type=int, default=3, help="neutral test utterances per speaker")
    p.add_argument("--seed", type=int, default=1, help="seed of the dev choice and of the enrollment draw")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Check labels, split off the dev speakers, write cuts, trial lists and summary.json."""
    prepare(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
