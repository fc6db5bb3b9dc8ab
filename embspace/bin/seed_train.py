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
import hashlib
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.extract import extractor_identity
from embspace.seed.checkpoint import model_meta
from embspace.seed.config import SeedConfig, load_config
from embspace.seed.data import PairBatches, dev_set, parse_copy_key, plan_copies, training_pairs
from embspace.seed.enhance import Enhancer, enhance_table
from embspace.seed.evaluate import list_metrics, selection_score
from embspace.seed.norm import for_training
from embspace.seed.train import build_objective
from embspace.training.distributed import cleanup, init_distributed
from embspace.training.trainer import Trainer, TrainerOptions
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError, cli_main

DEV_SEED = 1  # evaluation noise seed of the dev scoring


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="seed_train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="SEED YAML (model, diffusion, training, data, inference)")
    p.add_argument("--clean-scp", required=True, help="clean embeddings of the training utterances (targets)")
    p.add_argument("--copies-scp", required=True, help="embeddings of their augmented copies")
    p.add_argument("--utt2spk", required=True, help="speakers of the training utterances (dev hold-out only)")
    p.add_argument("--extractor", required=True, help="the frozen extractor (model file or 'ge2e'), recorded in the model")
    p.add_argument("--exp-dir", required=True, help="models/, seed_model.pt, selection.json go here")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"], help="training device")
    p.add_argument("--num-threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (initial weights, batch order, diffusion noise) instead of the config's "
                        "'seed:', which still plans the copies and dev speakers (the extraction step used it); "
                        "recorded in selection.json and the checkpoints")
    return p


def _load(args: argparse.Namespace, cfg: SeedConfig):
    """Embedding tables, speakers, copy plan; everything checked before training starts."""
    clean_keys, clean_emb = read_embeddings(args.clean_scp)
    copy_keys, copy_emb = read_embeddings(args.copies_scp)
    if clean_emb.shape[1] != copy_emb.shape[1]:
        raise DataError(f"dimension {copy_emb.shape[1]} differs from the clean embeddings' {clean_emb.shape[1]} "
                        f"({args.clean_scp})", args.copies_scp, key=copy_keys[0])
    utt2spk = read_table(args.utt2spk)
    clean = dict(zip(clean_keys, clean_emb))
    for k in clean_keys:
        if k not in utt2spk:
            raise DataError(f"utterance of {args.clean_scp} is not in utt2spk", args.utt2spk, key=k)
    copies = {}
    for k, v in zip(copy_keys, copy_emb):
        try:
            utt = parse_copy_key(k)[0]
        except ValueError:
            raise DataError("not a copy key '<utt>@<kind>@<draw>'", args.copies_scp, key=k) from None
        if utt not in clean:
            raise DataError(f"copy of an utterance that is not in {args.clean_scp}", args.copies_scp, key=k)
        copies[k] = v
    plan = plan_copies(utt2spk, cfg.data, cfg.seed)
    return clean, copies, utt2spk, plan


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    cfg = load_config(args.config)
    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    identity = extractor_identity(args.extractor)
    clean, copies, utt2spk, plan = _load(args, cfg)
    dim = next(iter(clean.values())).shape[0]
    norm = cfg.normalisation
    inputs, targets = training_pairs(clean, copies, utt2spk, plan, cfg.data.clean_pairs)
    dev = dev_set(clean, copies, utt2spk, plan)
    train_keys = sorted(u for u in clean if utt2spk[u] not in set(plan.dev_speakers))
    train_emb = np.stack([clean[k] for k in train_keys])
    data_sha = hashlib.sha256(inputs.tobytes() + targets.tobytes()).hexdigest()
    inputs_t = for_training(torch.from_numpy(inputs), norm)
    targets_t = for_training(torch.from_numpy(targets), norm)

    dist_info = init_distributed(args.device)
    if dist_info.world_size > 1:
        raise DataError("seed_train runs in one process (the model is small); do not start it under torchrun")
    train_seed = cfg.seed if args.seed is None else args.seed
    torch.manual_seed(train_seed)
    objective = build_objective(cfg, dim)
    model, schedule = objective.model, objective.schedule
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optimizer["lr"], weight_decay=cfg.optimizer["weight_decay"])
    batches = PairBatches(inputs_t, targets_t, cfg.batch_size, train_seed)
    exp_dir = Path(args.exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    meta = model_meta(cfg, dim)
    inf = cfg.inference

    def dev_eval(enhancer: Enhancer | None) -> dict[str, dict[str, float]]:
        def run(keys, emb):
            if enhancer is None:
                return emb
            return enhance_table(enhancer, keys, emb, DEV_SEED, inf.t_star, inf.num_draws, inf.ddim_steps,
                                 device=dist_info.device)
        mean = run(train_keys, train_emb).mean(axis=0)
        return list_metrics(run(dev.keys, dev.emb), mean, dev.lists)

    baseline = dev_eval(None)
    logging.info(f"{len(inputs)} training pairs (dim {dim}) from {len(train_keys)} utterances and "
                 f"{sum(1 for k in copies if utt2spk[parse_copy_key(k)[0]] not in set(plan.dev_speakers))} copies; "
                 f"dev: {len(plan.dev_speakers)} speakers, {len(dev.keys)} embeddings; baseline dev EER "
                 + ", ".join(f"{n} {m['eer']:.2f}%" for n, m in baseline.items())
                 + f"; SeedMLP {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
                 f"{len(batches)} batches/epoch x {cfg.epochs} epochs")
    models = exp_dir / "models"

    class DevSelection:
        """Epoch hook: dev scores to ``models/dev_<epoch>.json`` (they are its state, so a resumed run
        keeps them); the best epoch so far is copied to ``seed_model.pt``. Never stops training."""

        def __call__(self, epoch: int, network: torch.nn.Module) -> bool:
            enhancer = Enhancer(network.model, schedule, norm, cfg.diffusion.clip_sample)
            metrics = dev_eval(enhancer)
            score = selection_score(metrics)
            atomic_write_text(models / f"dev_{epoch}.json", json.dumps({"epoch": epoch, "score": score, **metrics}) + "\n")
            best = _best(models, epoch)
            if best == epoch:
                with atomic_path(exp_dir / "seed_model.pt") as tmp:
                    shutil.copyfile(models / f"model_{epoch}.pt", tmp)
            logging.info(f"epoch {epoch}: dev score {score:.3f}, best epoch {best}")
            return False

        def state_dict(self) -> dict:
            return {}

        def load_state_dict(self, state: dict) -> None:
            pass

    trainer = Trainer(objective, optimizer, batches, len(batches), lambda step: cfg.optimizer["lr"], exp_dir, dist_info,
                      TrainerOptions(epochs=cfg.epochs, save_every_steps=cfg.save_every_steps,
                                     log_every=max(1, len(batches) * 5), keep_last=cfg.keep_last),
                      export_fn=lambda net: {"model": net.model.state_dict(), "seed": meta, "extractor": identity},
                      config={**cfg.to_dict(), "extractor": identity, "train_pairs_sha256": data_sha,
                              **({"train_seed": train_seed} if args.seed is not None else {})},
                      epoch_hook=DevSelection())
    try:
        trainer.fit()
    finally:
        cleanup()
    history = [json.loads((models / f"dev_{e}.json").read_text()) for e in range(1, cfg.epochs + 1)]
    best = _best(models, cfg.epochs)
    atomic_write_text(exp_dir / "selection.json", json.dumps(
        {"criterion": "mean dev EER over the conventional and augmented dev lists", "best_epoch": best,
         "train_seed": train_seed,
         "baseline": baseline, "dev_speakers": plan.dev_speakers, "epochs": history}, indent=1) + "\n")
    logging.info(f"best epoch {best} (dev score {history[best - 1]['score']:.3f}, baseline "
                 f"{selection_score(baseline):.3f}) -> {exp_dir / 'seed_model.pt'}")
    return 0


def _best(models: Path, last: int) -> int:
    """The epoch in 1..last with the lowest dev score (the earliest on ties)."""
    scores = [(json.loads((models / f"dev_{e}.json").read_text())["score"], e) for e in range(1, last + 1)]
    return min(scores)[1]


if __name__ == "__main__":
    sys.exit(main())
