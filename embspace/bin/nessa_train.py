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
import json
import sys
from pathlib import Path

import torch
import yaml

from embspace.cli.args import cli_parser, int_list, setup_logging, str2bool
from embspace.data.tables import read_table, read_trials
from embspace.nessa import (DIRECTIONS, KINDS, Aligner, DevProfiles, DevSet, TrainOptions, aligner_config,
                            choose_profile_mode, classifier_reference, fit_closed_form, load_pairs, read_profiles,
                            save_aligner, train_mlp)
from embspace.nessa.logit_space import LOGIT_TRANSFORMS
from embspace.nessa.losses import TERMS
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


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
    parser = build_parser()
    args = list(sys.argv[1:] if argv is None else argv)
    config = next((a.split("=", 1)[1] for a in args if a.startswith("--config=")), None)
    if "--config" in args and args.index("--config") + 1 < len(args):
        config = args[args.index("--config") + 1]
    if config:
        path = Path(config)
        if not path.is_file():
            raise DataError("config not found", path)
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(cfg, dict):
            raise DataError("expected a YAML mapping", path)
        known = {a.dest: a for a in parser._actions}
        converted = {}
        for key, value in cfg.items():
            action = known.get(str(key).replace("-", "_"))
            if action is None or action.dest in ("help", "config"):
                raise DataError("unknown option", path, key=str(key))
            try:
                converted[action.dest] = action.type(value) if action.type and isinstance(value, (str, list, dict)) else value
            except (argparse.ArgumentTypeError, ValueError) as e:
                raise DataError(f"bad value {value!r}: {e}", path, key=str(key)) from None
            if action.choices and converted[action.dest] not in action.choices:
                raise DataError(f"{value!r} is not one of {', '.join(map(str, action.choices))}", path, key=str(key))
        parser.set_defaults(**converted)
    return parser.parse_args(argv)


def _reference(args: argparse.Namespace, speakers: list[str]):
    """Classifier rows of both models for the training speakers (``--reference classifier``)."""
    if args.reference != "classifier":
        return None
    missing = [o for o in ("x_classifier", "y_classifier", "x_spk2id", "y_spk2id") if not getattr(args, o)]
    if missing:
        raise DataError("--reference classifier needs " + ", ".join("--" + o.replace("_", "-") for o in missing))
    refs = []
    for side in ("x", "y"):
        spk_path = Path(getattr(args, f"{side}_spk2id"))
        if not spk_path.is_file():
            raise DataError("file not found", spk_path)
        spk2id = json.loads(spk_path.read_text(encoding="utf-8"))
        refs.append(classifier_reference(getattr(args, f"{side}_classifier"), spk2id, speakers))
    return tuple(refs)


def _dev_profiles(args: argparse.Namespace) -> DevProfiles | None:
    """The dev profile list (read and checked before training; its pairs are set later), or None."""
    if bool(args.dev_profiles) != bool(args.dev_profile_trials):
        raise DataError("--dev-profiles and --dev-profile-trials go together")
    if not args.dev_profiles:
        return None
    return DevProfiles(args.dev_profile_trials, read_profiles(args.dev_profiles), args.dev_profiles, None)


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Fit the mapper, select it on the dev trials, write mapper.pt and summary.json."""
    args = parse_args(argv)
    setup_logging()
    utt2spk = read_table(args.utt2spk)
    bad = next((k for k, v in utt2spk.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise DataError("expected one speaker per utterance", args.utt2spk, key=bad)
    dev_keys = sorted({k for e, t, _ in read_trials(args.dev_trials) for k in (e, t)})
    if not dev_keys:
        raise DataError("no trials", args.dev_trials)
    leaked = next((k for k in dev_keys if k in utt2spk), None)
    if leaked is not None:
        raise DataError(f"dev utterance is also a training utterance of {args.utt2spk}", args.dev_trials, key=leaked)
    dev_profiles = _dev_profiles(args)
    if dev_profiles is not None:
        leaked = next((k for k in dev_profiles.utterances() if k in utt2spk), None)
        if leaked is not None:
            raise DataError(f"dev utterance is also a training utterance of {args.utt2spk}", args.dev_profiles,
                            key=leaked)
        dev_keys = sorted(set(dev_keys) | set(dev_profiles.utterances()))
    train_keys = sorted(utt2spk)
    pairs = load_pairs(args.x_scp, args.y_scp, train_keys + dev_keys, args.utt2spk)
    train, dev_pairs = pairs.subset(train_keys), pairs.subset(dev_keys)
    labels = [utt2spk[k] for k in train_keys]
    speakers = sorted(set(labels))
    if len(speakers) < 2:
        raise DataError("at least two training speakers are needed", args.utt2spk)
    options = {}
    if args.mapper == "mlp":
        options = {k: getattr(args, k) for k in ("hidden_dims", "activation", "batchnorm", "dropout", "linear_skip")}
    elif args.mapper == "logit":
        options = {"num_references": len(speakers), "transform": args.logit_transform,
                   "temperature": args.logit_temperature}
    try:
        cfg = aligner_config(args.mapper, args.direction, train.x.shape[1], train.y.shape[1], args.shared_dim,
                             args.center_in, args.l2_in, args.l2_out, **options)
    except ValueError as e:
        raise DataError(str(e)) from None
    cfg.update(x_name=args.x_name, y_name=args.y_name)
    torch.manual_seed(args.seed)  # the MLP's initial weights
    aligner = Aligner(cfg)
    aligner.set_means(train.x.mean(0), train.y.mean(0))
    dev = DevSet(args.dev_trials, dev_pairs)
    exp_dir = Path(args.exp_dir)
    summary: dict = {"mapper": args.mapper, "direction": cfg["direction"], "x_name": args.x_name, "y_name": args.y_name,
                     "num_train_utts": len(train_keys), "num_train_speakers": len(speakers), "num_dev_utts": len(dev_keys)}
    if args.mapper == "mlp":
        opts = TrainOptions(loss_weights=args.loss, temperature=args.temperature, positives=args.positives,
                            epochs=args.epochs, spk_per_batch=args.spk_per_batch, utts_per_spk=args.utts_per_spk,
                            lr=args.lr, final_lr=args.final_lr, warmup_epochs=args.warmup_epochs,
                            weight_decay=args.weight_decay, patience=args.patience, ridge=args.ridge, seed=args.seed,
                            num_threads=args.num_threads)
        aligner, info = train_mlp(aligner, train, labels, dev, opts, exp_dir)
        summary.update(info)
    else:
        fit_closed_form(aligner, train, labels, args.ridge, _reference(args, speakers))
    summary["dev"] = dev.evaluate(aligner)
    if dev_profiles is not None:
        dev_profiles.pairs = dev_pairs
        mode, dev_eer = choose_profile_mode(aligner, dev_profiles)
        summary["profile_mode"] = {"chosen": mode, "dev_eer": dev_eer, "dev_profile_trials": str(args.dev_profile_trials)}
        print(f"nessa_train: profile mode {mode} (dev EER " + ", ".join(f"{m} {v:.2f}%" for m, v in dev_eer.items())
              + ")", file=sys.stderr)
    save_aligner(aligner, exp_dir / "mapper.pt", {k: v for k, v in summary.items() if k != "dev_history"})
    atomic_write_text(exp_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    print(f"nessa_train: {args.mapper} {cfg['direction']} {args.x_name}->{args.y_name}: dev EER "
          f"{summary['dev']['dev_eer']:.2f}% -> {exp_dir / 'mapper.pt'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
