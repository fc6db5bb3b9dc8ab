"""Train a SEED denoiser on embeddings of a frozen extractor; select the epoch on held-out speakers.

    python -m embspace.bin.seed_train --config conf/seed_mini.yaml \
        --clean-scp exp/ecapa_mini/embeddings/train/xvector.scp \
        --copies-scp exp/ecapa_mini_seed/copies/xvector.scp --utt2spk data/train/utt2spk \
        --extractor exp/ecapa_mini/models/avg_model.pt --exp-dir exp/ecapa_mini_seed

Pairs: every augmented copy (``<utt>@<kind>@<draw>``, from ``embspace.bin.extract --copies-config``)
→ the clean embedding of the same utterance, plus clean → clean. The config's dev speakers are
left out of training; after every epoch the model is scored on their trials (clean pairs, and
clean enrollment vs augmented copies) and the best epoch so far is copied to
``<exp-dir>/seed_model.pt``; ``<exp-dir>/selection.json`` lists the dev results. A rerun resumes
exactly from ``<exp-dir>/models/checkpoint_latest.pt``.
"""

from __future__ import annotations

import argparse
import sys

import torch

from embspace.cli.args import add_device, cli_parser, setup_logging
from embspace.extract import extractor_identity
from embspace.seed.config import load_config
from embspace.seed.training import train_seed
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("seed_train", __doc__)
    p.add_argument("--config", required=True, help="SEED YAML (model, diffusion, training, data, inference)")
    p.add_argument("--clean-scp", required=True, help="clean embeddings of the training utterances (targets)")
    p.add_argument("--copies-scp", required=True, help="embeddings of their augmented copies")
    p.add_argument("--utt2spk", required=True, help="speakers of the training utterances (dev hold-out only)")
    p.add_argument("--extractor", required=True, help="the frozen extractor (model file or 'ge2e'), recorded in the model")
    p.add_argument("--exp-dir", required=True, help="models/, seed_model.pt, selection.json go here")
    add_device(p, "cpu", "training device")
    p.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (initial weights, batch order, diffusion noise) instead of the config's "
                        "'seed:', which still plans the copies and dev speakers (the extraction step used it); "
                        "recorded in selection.json and the checkpoints")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    cfg = load_config(args.config)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    train_seed(cfg, args.clean_scp, args.copies_scp, args.utt2spk, extractor_identity(args.extractor), args.exp_dir,
               args.device, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
