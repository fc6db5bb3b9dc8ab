"""Check a training config against the training cuts before training is launched (steps/train.sh runs it
before torchrun and before creating the experiment dir).

Example:
    python -m embspace.bin.check_train_config --config conf/ecapa_mini.yaml --cuts data/fbank/mini_cuts_train.jsonl.gz

Builds what embspace.bin.train builds from the config (encoder, head, extra losses, optimizer,
schedules, augmentation options) and checks the batch (speakers and utterances per batch) and the
feature dimension against the cuts. The first problem is one line naming the config; exit 1.
"""

from __future__ import annotations

import sys

import embspace.emotion.training  # noqa: F401  (registers the emotion: section)
from embspace.cli.args import cli_parser
from embspace.training.config import check_config, load_config, summarize_cuts
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("check_train_config", __doc__)
    p.add_argument("--config", required=True, help="training config (YAML)")
    p.add_argument("--cuts", required=True, help="the training cuts (lhotse .jsonl.gz) the config will train on")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    summary = check_config(cfg, summarize_cuts(args.cuts), args.config)
    print(f"check_train_config: {args.config}: {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
