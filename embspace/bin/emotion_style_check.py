"""Check that emotional styles are real: (1) an emotion classifier trained on the training speakers
recognises the test speakers' styles well above chance; (2) a speaker encoder that never heard
emotional speech verifies worse when the test side is emotional.

    python -m embspace.bin.emotion_style_check --train-cuts data/emotion/finetune_cuts.jsonl.gz \
        --test-cuts data/emotion/eval_cuts.jsonl.gz --emotion-field style \
        --eer nn=exp/emotion/pretrained/scores/test_nn.metrics.json \
        --eer merged=exp/emotion/pretrained/scores/test_merged.metrics.json --out exp/emotion/style_check.json
Classes are balanced per speaker (at most as many neutral utterances as the speaker has of each
emotion). Writes the JSON and a Markdown rendering beside it (``.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.cli.args import cli_parser, name_values
from embspace.emotion.style_report import style_check
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Classify the styles across speakers, add the EERs, write the JSON and Markdown report."""
    p = cli_parser("emotion_style_check", __doc__)
    p.add_argument("--train-cuts", required=True, help="cuts of the classifier's training speakers")
    p.add_argument("--test-cuts", required=True, help="cuts of other speakers (its test)")
    p.add_argument("--exclude-test-speakers", default="",
                   help="a summary.json of emotion_prepare: its dev speakers are left out of the test cuts")
    p.add_argument("--emotion-field", default="emotion", help="supervision.custom key of the emotion label")
    p.add_argument("--neutral-label", default="neutral", help="the label of neutral speech")
    p.add_argument("--eer", action="append", default=[], metavar="NAME=METRICS_JSON",
                   help="EER of the neutral-only encoder on a list (nn first), repeatable")
    p.add_argument("--out", required=True, type=Path, help="JSON report (a .md goes beside it)")
    args = p.parse_args(argv)
    eer_files = name_values(args.eer, p, "--eer", "NAME=FILE", unique=False)
    report = style_check(args.train_cuts, args.test_cuts, args.emotion_field, args.neutral_label, eer_files, args.out,
                         args.exclude_test_speakers)
    raw = report["classifier"]["raw"]
    print(f"emotion_style_check: accuracy {100 * raw['accuracy']:.1f}% (chance {100 * raw['chance']:.1f}%) on "
          f"{raw['num_test']} test utterances" + "".join(f"; {k} EER {v['eer']:.2f}%" for k, v in report["eer"].items())
          + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
