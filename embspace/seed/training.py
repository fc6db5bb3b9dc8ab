"""SEED training with dev selection: pairs from clean and augmented-copy embeddings, the trainer
loop, and after every epoch the dev scores and the best epoch so far as ``seed_model.pt``.

:func:`train_seed` is what ``embspace.bin.seed_train`` runs; a rerun resumes exactly from
``<exp-dir>/models/checkpoint_latest.pt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch

from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.seed.checkpoint import model_meta
from embspace.seed.config import InferenceConfig, SeedConfig
from embspace.seed.data import CopyPlan, DevSet, PairBatches, dev_set, parse_copy_key, plan_copies, training_pairs
from embspace.seed.enhance import Enhancer, enhance_table
from embspace.seed.evaluate import list_metrics, selection_score
from embspace.seed.norm import for_training
from embspace.seed.schedule import NoiseSchedule
from embspace.seed.train import build_objective
from embspace.training.distributed import cleanup, init_distributed
from embspace.training.trainer import Trainer, TrainerOptions
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

PathLike = Union[str, os.PathLike]
DEV_SEED = 1  # evaluation noise seed of the dev scoring


def load_tables(clean_scp: PathLike, copies_scp: PathLike, utt2spk_path: PathLike, cfg: SeedConfig) -> tuple[
        dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str], CopyPlan]:
    """Clean and copy embeddings, speakers and the copy plan; everything checked before training starts."""
    clean_keys, clean_emb = read_embeddings(clean_scp)
    copy_keys, copy_emb = read_embeddings(copies_scp)
    if clean_emb.shape[1] != copy_emb.shape[1]:
        raise DataError(f"dimension {copy_emb.shape[1]} differs from the clean embeddings' {clean_emb.shape[1]} "
                        f"({clean_scp})", copies_scp, key=copy_keys[0])
    utt2spk = read_table(utt2spk_path)
    clean = dict(zip(clean_keys, clean_emb))
    for k in clean_keys:
        if k not in utt2spk:
            raise DataError(f"utterance of {clean_scp} is not in utt2spk", utt2spk_path, key=k)
    copies = {}
    for k, v in zip(copy_keys, copy_emb):
        try:
            utt = parse_copy_key(k)[0]
        except ValueError:
            raise DataError("not a copy key '<utt>@<kind>@<draw>'", copies_scp, key=k) from None
        if utt not in clean:
            raise DataError(f"copy of an utterance that is not in {clean_scp}", copies_scp, key=k)
        copies[k] = v
    plan = plan_copies(utt2spk, cfg.data, cfg.seed)
    return clean, copies, utt2spk, plan


@dataclass
class DevScorer:
    """Dev-list metrics of an enhancer (None: the embeddings as they are), with the scoring mean of
    the training embeddings enhanced alike; noise seed :data:`DEV_SEED`."""

    train_keys: list[str]
    train_emb: np.ndarray
    dev: DevSet
    inference: InferenceConfig
    device: torch.device

    def __call__(self, enhancer: Enhancer | None) -> dict[str, dict[str, float]]:
        def run(keys, emb):
            if enhancer is None:
                return emb
            inf = self.inference
            return enhance_table(enhancer, keys, emb, DEV_SEED, inf.t_star, inf.num_draws, inf.ddim_steps,
                                 device=self.device)
        mean = run(self.train_keys, self.train_emb).mean(axis=0)
        return list_metrics(run(self.dev.keys, self.dev.emb), mean, self.dev.lists)


class DevSelection:
    """Epoch hook: dev scores to ``models/dev_<epoch>.json`` (they are its state, so a resumed run
    keeps them); the best epoch so far is copied to ``seed_model.pt``. Never stops training."""

    def __init__(self, scorer: DevScorer, schedule: NoiseSchedule, norm: str, clip_sample: bool, exp_dir: Path) -> None:
        self.scorer, self.schedule, self.norm, self.clip_sample, self.exp_dir = scorer, schedule, norm, clip_sample, exp_dir

    def __call__(self, epoch: int, network: torch.nn.Module) -> bool:
        models = self.exp_dir / "models"
        metrics = self.scorer(Enhancer(network.model, self.schedule, self.norm, self.clip_sample))
        score = selection_score(metrics)
        atomic_write_text(models / f"dev_{epoch}.json", json.dumps({"epoch": epoch, "score": score, **metrics}) + "\n")
        best = _best(models, epoch)
        if best == epoch:
            with atomic_path(self.exp_dir / "seed_model.pt") as tmp:
                shutil.copyfile(models / f"model_{epoch}.pt", tmp)
        logging.info(f"epoch {epoch}: dev score {score:.3f}, best epoch {best}")
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def train_seed(cfg: SeedConfig, clean_scp: PathLike, copies_scp: PathLike, utt2spk_path: PathLike, identity: dict,
               exp_dir: PathLike, device: str = "cpu", seed: int | None = None) -> int:
    """Train on the pairs of ``clean_scp``/``copies_scp`` (dev speakers of ``cfg`` held out), select
    the epoch on the dev lists; writes ``<exp_dir>/models/``, ``seed_model.pt`` and ``selection.json``.
    ``identity`` names the frozen extractor (recorded in the model). ``seed``: the training seed
    (weights, batch order, diffusion noise) instead of ``cfg.seed``, which still plans the copies and
    the dev speakers. Returns the best epoch."""
    clean, copies, utt2spk, plan = load_tables(clean_scp, copies_scp, utt2spk_path, cfg)
    dim = next(iter(clean.values())).shape[0]
    norm = cfg.normalisation
    inputs, targets = training_pairs(clean, copies, utt2spk, plan, cfg.data.clean_pairs)
    dev = dev_set(clean, copies, utt2spk, plan)
    train_keys = sorted(u for u in clean if utt2spk[u] not in set(plan.dev_speakers))
    train_emb = np.stack([clean[k] for k in train_keys])
    data_sha = hashlib.sha256(inputs.tobytes() + targets.tobytes()).hexdigest()
    inputs_t = for_training(torch.from_numpy(inputs), norm)
    targets_t = for_training(torch.from_numpy(targets), norm)

    dist_info = init_distributed(device)
    if dist_info.world_size > 1:
        raise DataError("seed_train runs in one process (the model is small); do not start it under torchrun")
    train_seed = cfg.seed if seed is None else seed
    torch.manual_seed(train_seed)
    objective = build_objective(cfg, dim)
    model, schedule = objective.model, objective.schedule
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optimizer["lr"], weight_decay=cfg.optimizer["weight_decay"])
    batches = PairBatches(inputs_t, targets_t, cfg.batch_size, train_seed)
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    meta = model_meta(cfg, dim)
    dev_eval = DevScorer(train_keys, train_emb, dev, cfg.inference, dist_info.device)
    baseline = dev_eval(None)
    logging.info(f"{len(inputs)} training pairs (dim {dim}) from {len(train_keys)} utterances and "
                 f"{sum(1 for k in copies if utt2spk[parse_copy_key(k)[0]] not in set(plan.dev_speakers))} copies; "
                 f"dev: {len(plan.dev_speakers)} speakers, {len(dev.keys)} embeddings; baseline dev EER "
                 + ", ".join(f"{n} {m['eer']:.2f}%" for n, m in baseline.items())
                 + f"; SeedMLP {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
                 f"{len(batches)} batches/epoch x {cfg.epochs} epochs")
    models = exp_dir / "models"
    trainer = Trainer(objective, optimizer, batches, len(batches), lambda step: cfg.optimizer["lr"], exp_dir, dist_info,
                      TrainerOptions(epochs=cfg.epochs, save_every_steps=cfg.save_every_steps,
                                     log_every=max(1, len(batches) * 5), keep_last=cfg.keep_last),
                      export_fn=lambda net: {"model": net.model.state_dict(), "seed": meta, "extractor": identity},
                      config={**cfg.to_dict(), "extractor": identity, "train_pairs_sha256": data_sha,
                              **({"train_seed": train_seed} if seed is not None else {})},
                      epoch_hook=DevSelection(dev_eval, schedule, norm, cfg.diffusion.clip_sample, exp_dir))
    try:
        trainer.fit()
    finally:
        cleanup()
    history = [json.loads((models / f"dev_{e}.json").read_text()) for e in range(1, cfg.epochs + 1)]
    best = _best(models, cfg.epochs)
    atomic_write_text(exp_dir / "selection.json", json.dumps(
        {"criterion": "mean dev EER over the conventional and augmented dev lists", "best_epoch": best,
         "train_seed": train_seed, "baseline": baseline, "dev_speakers": plan.dev_speakers, "epochs": history}, indent=1) + "\n")
    logging.info(f"best epoch {best} (dev score {history[best - 1]['score']:.3f}, baseline "
                 f"{selection_score(baseline):.3f}) -> {exp_dir / 'seed_model.pt'}")
    return best


def _best(models: Path, last: int) -> int:
    """The epoch in 1..last with the lowest dev score (the earliest on ties)."""
    scores = [(json.loads((models / f"dev_{e}.json").read_text())["score"], e) for e in range(1, last + 1)]
    return min(scores)[1]


