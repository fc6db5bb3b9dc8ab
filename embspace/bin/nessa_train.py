"""Train a NESSA mapper (or build the speaker-logit-space baseline) from paired embeddings of two frozen models.

    python -m embspace.bin.nessa_train --config conf/nessa.yaml \\
        --x-scp exp/ge2e/embeddings/train/xvector.scp --y-scp exp/ecapa_mini/embeddings/train/xvector.scp \\
        --utt2spk data/nessa/train/utt2spk --dev-trials data/nessa/dev/trials --exp-dir exp/nessa/ge2e-ecapa_mini/mlp

X is the old model (A), Y the new one (B). The training utterances are those of ``--utt2spk``
(their speakers must be disjoint from the evaluation speakers); ``--dev-trials`` (held-out training
speakers, keys in both scps) selects the best epoch and stops training early. With
``--dev-profiles`` and ``--dev-profile-trials`` (profiles of the dev speakers) the profile averaging
mode with the lower dev EER is chosen and recorded (``profile_mode`` in summary.json and in the
mapper file; ``nessa_evaluate --profile-modes dev`` scores test profiles in that mode). Writes
``<exp-dir>/mapper.pt`` (load with ``embspace.nessa.load_aligner``) and ``<exp-dir>/summary.json``;
an MLP also checkpoints to ``<exp-dir>/models/`` and resumes from there when rerun.
``--config`` is a YAML file whose keys are this command's long options (``hidden_dims: [512]``);
options given on the command line win.
"""

from __future__ import annotations

import argparse
import sys

from embspace.cli.args import cli_parser, int_list, parse_with_config, setup_logging, str2bool
from embspace.nessa import DIRECTIONS, KINDS
from embspace.nessa.fit import train_mapper
from embspace.nessa.logit_space import LOGIT_TRANSFORMS
from embspace.nessa.losses import TERMS
from embspace.utils.errors import cli_main


def _weights(v: str | dict) -> dict[str, float]:
    """``cosine=1,infonce=0.5`` (or a YAML mapping) -> ``{term: weight}``."""
    items = v.items() if isinstance(v, dict) else (kv.split("=", 1) for kv in v.split(",") if kv.strip())
    out = {}
    for item in items:
        if len(item) != 2:
            raise argparse.ArgumentTypeError(f"expected TERM=WEIGHT, got {item!r}")
        k, w = item
        if k.strip() not in TERMS:
            raise argparse.ArgumentTypeError(f"unknown loss term {k!r} (one of {', '.join(TERMS)})")
        out[k.strip()] = float(w)
    return out


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("nessa_train", __doc__)
    p.add_argument("--config", help="YAML file of defaults for the options below (keys: long option names)")
    d = p.add_argument_group("data")
    d.add_argument("--x-scp", required=True, help="embeddings of model X (the old model A) of the training (and dev) utterances")
    d.add_argument("--y-scp", required=True, help="embeddings of model Y (the new model B) of the same utterances")
    d.add_argument("--utt2spk", required=True, help="training utterances and their speakers (disjoint from evaluation)")
    d.add_argument("--dev-trials", required=True, help="dev trials over held-out training speakers (keys in both scps)")
    d.add_argument("--dev-profiles", help="profiles of dev utterances ('<profile> <utt>...'), to choose the profile mode")
    d.add_argument("--dev-profile-trials", help="dev profile trials ('<profile> <utt> target|nontarget')")
    d.add_argument("--exp-dir", required=True, help="output folder: mapper.pt, summary.json, models/")
    d.add_argument("--x-name", default="x", help="name of model X (recorded in the mapper)")
    d.add_argument("--y-name", default="y", help="name of model Y (recorded in the mapper)")
    m = p.add_argument_group("mapper")
    m.add_argument("--mapper", default="mlp", choices=[k for k in KINDS if k != "identity"],
                   help="linear (ridge least squares; CCA for both_to_z), procrustes, mlp, or logit (the baseline)")
    m.add_argument("--direction", default="x_to_y", choices=DIRECTIONS, help="which side(s) are mapped")
    m.add_argument("--shared-dim", type=int, default=0, help="dimension of the new space (both_to_z)")
    m.add_argument("--hidden-dims", type=int_list, default=[1024, 1024], help="MLP hidden layer sizes, e.g. 512,512")
    m.add_argument("--activation", default="relu", choices=["relu", "prelu", "gelu"], help="MLP activation")
    m.add_argument("--batchnorm", type=str2bool, default=True, help="BatchNorm after each hidden layer (true|false)")
    m.add_argument("--dropout", type=float, default=0.1, help="MLP dropout")
    m.add_argument("--linear-skip", type=str2bool, default=True,
                   help="add a linear skip (initialised with least squares; the MLP learns a residual)")
    m.add_argument("--center-in", type=str2bool, default=True, help="subtract the training mean of each side's input")
    m.add_argument("--l2-in", type=str2bool, default=True, help="length-normalise inputs")
    m.add_argument("--l2-out", type=str2bool, default=True, help="length-normalise outputs")
    m.add_argument("--ridge", type=float, default=1e-3, help="ridge of the least-squares / CCA fits (x number of pairs)")
    t = p.add_argument_group("training (mlp)")
    t.add_argument("--loss", type=_weights, default={"cosine": 1.0, "infonce": 1.0},
                   help="weighted loss terms: cosine, mse, infonce, speaker, e.g. cosine=1,infonce=1")
    t.add_argument("--temperature", type=float, default=0.1, help="InfoNCE temperature")
    t.add_argument("--positives", default="speaker", choices=["speaker", "utterance"], help="InfoNCE positives")
    t.add_argument("--epochs", type=int, default=30, help="maximum epochs")
    t.add_argument("--patience", type=int, default=5, help="stop after this many epochs without dev improvement")
    t.add_argument("--spk-per-batch", type=int, default=32, help="speakers per batch")
    t.add_argument("--utts-per-spk", type=int, default=4, help="utterances per speaker in a batch")
    t.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW)")
    t.add_argument("--final-lr", type=float, default=1e-4, help="learning rate at the last epoch")
    t.add_argument("--warmup-epochs", type=float, default=1.0, help="linear warm-up epochs")
    t.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    t.add_argument("--seed", type=int, default=1, help="seed of initialisation and batches")
    t.add_argument("--num-threads", type=int, default=1,
                   help="torch threads (0: torch's default; one is fastest for these small networks)")
    b = p.add_argument_group("logit-space baseline")
    b.add_argument("--reference", default="centroids", choices=["centroids", "classifier"],
                   help="reference speakers: centroids of the training speakers, or rows of both models' classifiers")
    b.add_argument("--x-classifier", help="X's training checkpoint with the classifier (checkpoint_latest.pt)")
    b.add_argument("--y-classifier", help="Y's training checkpoint with the classifier")
    b.add_argument("--x-spk2id", help="X's spk2id.json (classifier row of each speaker)")
    b.add_argument("--y-spk2id", help="Y's spk2id.json")
    b.add_argument("--logit-transform", default="cosine", choices=LOGIT_TRANSFORMS, help="cosine or softmax logits")
    b.add_argument("--logit-temperature", type=float, default=0.1, help="softmax temperature of the logits")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Options, with defaults from ``--config`` (an unknown key is a DataError naming it)."""
    return parse_with_config(build_parser(), argv)


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Fit the mapper, select it on the dev trials, write mapper.pt and summary.json."""
    args = parse_args(argv)
    setup_logging()
    train_mapper(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
