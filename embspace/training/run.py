"""One training run of a speaker encoder (``embspace.bin.train``): data, sampler, encoder, head,
margins, optimizer and schedule from a training config, then :class:`~embspace.training.trainer.Trainer`.

Import this module only after :func:`embspace.training.numerics.apply_portable_env` (it imports torch).
A method's config section (e.g. ``emotion:``) must have been registered (:mod:`embspace.training.methods`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
import yaml

from embspace.features.fbank import load_feature_cuts
from embspace.features.frontend import embspace_frontend
from embspace.losses.extra import build_extra_losses
from embspace.models import count_parameters
from embspace.stage import file_sha256
from embspace.training.augment import AugmentOptions, Augmenter
from embspace.training.config import (build_encoder, build_head, build_margins, build_optimizer, head_init_mode,
                                      lr_schedule)
from embspace.training.dataset import SpeakerCropDataset, collate, speaker_map
from embspace.training.distributed import cleanup, init_distributed
from embspace.training.methods import method_of
from embspace.training.numerics import describe
from embspace.training.sampler import SpeakerBalancedSampler
from embspace.training.speaker import SpeakerNet, imprint_head
from embspace.training.trainer import Trainer, TrainerOptions
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


def training_data(cfg: dict, cuts, config_path: str, cuts_path: str) -> tuple:
    """``(dataset, spk2id, collate, extra loss terms)``: a method's (its config section), or speaker
    crops of the cuts (augmented with an ``augment:`` section)."""
    num_frames = int(cfg.get("data", {}).get("num_frames", 200))
    aug_cfg = cfg.get("augment")
    method = method_of(cfg)
    if method is not None:
        if aug_cfg and method.augment_conflict:
            raise DataError(f"'augment' and '{method.section}' cannot be combined ({method.augment_conflict})", config_path)
        built = method.build(cuts, cfg[method.section], num_frames, str(cuts_path))
        return built.dataset, built.spk2id, built.collate, list(built.extra_terms)
    spk2id = speaker_map(cuts)
    feature_fn = Augmenter(AugmentOptions(**aug_cfg)) if aug_cfg else None
    return SpeakerCropDataset(cuts, spk2id, num_frames, feature_fn), spk2id, collate, []


def train_encoder(cfg: dict, config_path: str, cuts_path: str, exp_dir: str | Path, device: str = "auto",
                  num_threads: int = 0, init: str | None = None) -> None:
    """Train (or resume) the encoder of ``cfg`` on ``cuts_path`` into ``exp_dir`` (models/, config.yaml,
    spk2id.json); ``init``: start the encoder from this model file (else the config's ``init:``)."""
    if num_threads > 0:
        torch.set_num_threads(num_threads)
    logging.info(f"numerics: {describe()}")
    dist_info = init_distributed(device)
    seed = int(cfg.get("seed", 42))
    torch.manual_seed(seed)

    cuts = load_feature_cuts(cuts_path)
    if len(cuts) == 0:
        raise DataError("no cuts", cuts_path)
    data_cfg = cfg.get("data", {})
    extra = build_extra_losses(cfg.get("extra_losses"))
    dataset, spk2id, collate_fn, method_terms = training_data(cfg, cuts, config_path, cuts_path)
    extra += method_terms
    sampler = SpeakerBalancedSampler(dataset.labels, int(data_cfg.get("spk_per_batch", 32)), int(data_cfg.get("utts_per_spk", 2)),
                                     seed=seed, num_batches=data_cfg.get("batches_per_epoch"),
                                     rank=dist_info.rank, world_size=dist_info.world_size)
    num_workers = int(data_cfg.get("num_workers", 0))

    def loader_fn(epoch: int, start_batch: int):
        sampler.set_epoch(epoch, start_batch)
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_fn, num_workers=num_workers,
                                           persistent_workers=False)

    init = init or cfg.get("init")
    try:
        encoder, model_cfg = build_encoder(cfg, init)
        head = build_head(cfg, model_cfg, len(spk2id))
        head_init = head_init_mode(cfg)
        margins = build_margins(cfg, head)
    except ValueError as e:
        raise DataError(str(e), config_path) from None
    if head_init == "class_means":  # (a resumed run loads its head from the checkpoint anyway)
        imprint_head(encoder, head, dataset, dataset.labels, int(cfg.get("head_init_utts", 4)), seed)
    network = SpeakerNet(encoder, head, extra)
    optimizer = build_optimizer(network.parameters(), cfg.get("optimizer", {}))
    epochs = int(cfg.get("epochs", 10))
    lr = lr_schedule(cfg, len(sampler))

    def on_step(epoch: int, batch: int, num_batches: int) -> dict:
        return {"margin": margins.step(head, epoch, batch, num_batches)} if margins else {}

    exp_dir = Path(exp_dir)
    if dist_info.is_main:
        exp_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(exp_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
        atomic_write_text(exp_dir / "spk2id.json", json.dumps(spk2id, indent=0))
        logging.info(f"{len(cuts)} cuts, {len(spk2id)} speakers, encoder {model_cfg['type']} with "
                     f"{count_parameters(encoder) / 1e6:.2f}M parameters, {len(sampler)} batches/epoch x {epochs} epochs, "
                     f"world size {dist_info.world_size}, device {dist_info.device}")
    trainer = Trainer(network, optimizer, loader_fn, len(sampler), lr.lr_at, exp_dir, dist_info,
                      TrainerOptions(epochs=epochs, save_every_steps=int(cfg.get("save_every_steps", 0)),
                                     log_every=int(cfg.get("log_every", 20)), grad_clip=float(cfg.get("grad_clip", 0.0)),
                                     amp=str(cfg.get("amp", "off")), keep_last=int(cfg.get("keep_last", 0))),
                      on_step=on_step, export_fn=lambda net: {"model": net.encoder.state_dict(), "model_config": model_cfg,
                                                             "frontend": embspace_frontend(model_cfg.get("feat_dim", 80))},
                      config={**cfg, "train_data": {"cuts": str(cuts_path), "sha256": file_sha256(cuts_path)},
                              **({"init": {"model": str(init), "sha256": file_sha256(init)}} if init else {})})
    try:
        trainer.fit()
    finally:
        cleanup()
