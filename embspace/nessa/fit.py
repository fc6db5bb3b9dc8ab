"""What ``embspace.bin.nessa_train`` does with its options: read and check the training and dev
utterances, fit the mapper, choose the profile mode, write ``mapper.pt`` and ``summary.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from embspace.data.tables import read_table, read_trials
from embspace.nessa.aligner import Aligner, aligner_config, save_aligner
from embspace.nessa.data import load_pairs, read_profiles
from embspace.nessa.logit_space import classifier_reference
from embspace.nessa.scoring import DevProfiles, DevSet, choose_profile_mode
from embspace.nessa.train import TrainOptions, fit_closed_form, train_mlp
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

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


def _train_and_dev_keys(args: argparse.Namespace, utt2spk: dict) -> tuple[list[str], list[str], DevProfiles | None]:
    """Training and dev utterances (disjoint, checked) and the dev profile list."""
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
    return sorted(utt2spk), dev_keys, dev_profiles


def _new_aligner(args: argparse.Namespace, x_dim: int, y_dim: int, num_speakers: int) -> Aligner:
    """The untrained aligner the mapper options ask for (seeded: the MLP's initial weights)."""
    options = {}
    if args.mapper == "mlp":
        options = {k: getattr(args, k) for k in ("hidden_dims", "activation", "batchnorm", "dropout", "linear_skip")}
    elif args.mapper == "logit":
        options = {"num_references": num_speakers, "transform": args.logit_transform,
                   "temperature": args.logit_temperature}
    try:
        cfg = aligner_config(args.mapper, args.direction, x_dim, y_dim, args.shared_dim,
                             args.center_in, args.l2_in, args.l2_out, **options)
    except ValueError as e:
        raise DataError(str(e)) from None
    cfg.update(x_name=args.x_name, y_name=args.y_name)
    torch.manual_seed(args.seed)
    return Aligner(cfg)


def train_mapper(args: argparse.Namespace) -> None:
    """Fit the mapper the options of ``nessa_train`` describe, select it on the dev trials (and the
    profile mode on the dev profiles), write ``mapper.pt`` and ``summary.json`` to ``args.exp_dir``."""
    utt2spk = read_table(args.utt2spk)
    train_keys, dev_keys, dev_profiles = _train_and_dev_keys(args, utt2spk)
    pairs = load_pairs(args.x_scp, args.y_scp, train_keys + dev_keys, args.utt2spk)
    train, dev_pairs = pairs.subset(train_keys), pairs.subset(dev_keys)
    labels = [utt2spk[k] for k in train_keys]
    speakers = sorted(set(labels))
    if len(speakers) < 2:
        raise DataError("at least two training speakers are needed", args.utt2spk)
    aligner = _new_aligner(args, train.x.shape[1], train.y.shape[1], len(speakers))
    direction = aligner.config["direction"]
    aligner.set_means(train.x.mean(0), train.y.mean(0))
    dev = DevSet(args.dev_trials, dev_pairs)
    exp_dir = Path(args.exp_dir)
    summary: dict = {"mapper": args.mapper, "direction": direction, "x_name": args.x_name, "y_name": args.y_name,
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
    print(f"nessa_train: {args.mapper} {direction} {args.x_name}->{args.y_name}: dev EER "
          f"{summary['dev']['dev_eer']:.2f}% -> {exp_dir / 'mapper.pt'}", file=sys.stderr)
