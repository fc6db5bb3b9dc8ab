"""Train a speaker encoder with a margin softmax head (single process or under torchrun).

Example (steps/train.sh runs it so, after python -m embspace.bin.check_train_config):
    python -m embspace.bin.train --config conf/ecapa.yaml --cuts data/fbank/mini_cuts_train.jsonl.gz --exp-dir exp/ecapa
    torchrun --standalone --nproc_per_node 1 -m embspace.bin.train --config conf/ecapa.yaml \
        --cuts data/fbank/mini_cuts_train.jsonl.gz --exp-dir exp/ecapa
    python -m embspace.bin.train --config conf/emotion_ft.yaml --init exp/ecapa/models/avg_model.pt \
        --cuts data/emotion/finetune_cuts.jsonl.gz --exp-dir exp/emotion/ft_all    # fine-tune
Rerunning resumes from ``<exp-dir>/models/checkpoint_latest.pt`` and continues exactly.
``--seed N`` replaces the config's ``seed:`` (one run per seed: one exp-dir per seed); the seed in
effect is in ``<exp-dir>/config.yaml`` and the checkpoints, so a rerun with another seed is refused.
At the end ``model_<epoch>.pt`` files hold the encoder weights (average them with average_model).

Fine-tuning: ``--init`` (or ``init:`` in the config) starts the encoder from a model file; the
architecture is the file's (a ``model:`` section, if any, must agree), the head is new: random, or
(``head_init: class_means``) each class's mean embedding under the starting encoder.
An ``emotion:`` section trains on parallel pairs with CopyPaste, the ERL cosine term and
emotion-aware masking, each switchable (see ``embspace.emotion``).

``portable_numerics: true`` pins MKL, oneDNN and ATen to their AVX2 code paths and the thread count
(needs ``--num-threads N``) before torch is imported, so that x86 machines train the same encoder
(docs/reproducibility.md). The log's ``numerics:`` line says what was in effect.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from embspace.cli.args import add_device, cli_parser, setup_logging
from embspace.training.config import load_config
from embspace.training.numerics import CONFIG_KEY, apply_portable_env, describe, wants_portable
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("train", __doc__)
    p.add_argument("--config", required=True, help="training config (YAML: model, loss, optimizer, data, epochs...)")
    p.add_argument("--cuts", required=True, help="training cuts with features (or audio, with augmentation)")
    p.add_argument("--exp-dir", required=True, help="experiment dir: models/, config.yaml, spk2id.json")
    add_device(p, "auto", "auto: CUDA when available")
    p.add_argument("--num-threads", type=int, default=0, help="torch threads per process (0: leave as is)")
    p.add_argument("--init", default=None, help="start the encoder from this model file (overrides 'init:' of the config)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (overrides 'seed:' of the config; recorded in <exp-dir>/config.yaml)")
    args = p.parse_args(argv)
    setup_logging()

    cfg = load_config(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    try:
        if wants_portable(cfg):  # before torch is imported (below): the libraries read it once
            apply_portable_env(args.num_threads)
    except (ValueError, RuntimeError) as e:
        raise DataError(str(e), args.config, key=CONFIG_KEY) from None
    return _train(args, cfg)


def _train(args: argparse.Namespace, cfg: dict) -> int:
    """Everything after the numerics environment is set (torch and its users are imported here)."""
    import torch
    import yaml

    import embspace.emotion.training  # noqa: F401  (registers the emotion: section)
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
    from embspace.training.sampler import SpeakerBalancedSampler
    from embspace.training.speaker import SpeakerNet, imprint_head
    from embspace.training.trainer import Trainer, TrainerOptions
    from embspace.utils.atomic import atomic_write_text

    if args.num_threads > 0:
        torch.set_num_threads(args.num_threads)
    logging.info(f"numerics: {describe()}")
    dist_info = init_distributed(args.device)
    seed = int(cfg.get("seed", 42))
    torch.manual_seed(seed)

    cuts = load_feature_cuts(args.cuts)
    if len(cuts) == 0:
        raise DataError("no cuts", args.cuts)
    data_cfg = cfg.get("data", {})
    num_frames = int(data_cfg.get("num_frames", 200))
    aug_cfg = cfg.get("augment")
    extra = build_extra_losses(cfg.get("extra_losses"))
    method = method_of(cfg)
    if method is not None:
        if aug_cfg and method.augment_conflict:
            raise DataError(f"'augment' and '{method.section}' cannot be combined ({method.augment_conflict})", args.config)
        built = method.build(cuts, cfg[method.section], num_frames, str(args.cuts))
        dataset, spk2id, collate_fn = built.dataset, built.spk2id, built.collate
        extra += built.extra_terms
    else:
        spk2id = speaker_map(cuts)
        feature_fn = Augmenter(AugmentOptions(**aug_cfg)) if aug_cfg else None
        dataset = SpeakerCropDataset(cuts, spk2id, num_frames, feature_fn)
        collate_fn = collate
    sampler = SpeakerBalancedSampler(dataset.labels, int(data_cfg.get("spk_per_batch", 32)), int(data_cfg.get("utts_per_spk", 2)),
                                     seed=seed, num_batches=data_cfg.get("batches_per_epoch"),
                                     rank=dist_info.rank, world_size=dist_info.world_size)
    num_workers = int(data_cfg.get("num_workers", 0))

    def loader_fn(epoch: int, start_batch: int):
        sampler.set_epoch(epoch, start_batch)
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate_fn, num_workers=num_workers,
                                           persistent_workers=False)

    init = args.init or cfg.get("init")
    try:
        encoder, model_cfg = build_encoder(cfg, init)
        head = build_head(cfg, model_cfg, len(spk2id))
        head_init = head_init_mode(cfg)
        margins = build_margins(cfg, head)
    except ValueError as e:
        raise DataError(str(e), args.config) from None
    if head_init == "class_means":  # (a resumed run loads its head from the checkpoint anyway)
        imprint_head(encoder, head, dataset, dataset.labels, int(cfg.get("head_init_utts", 4)), seed)
    network = SpeakerNet(encoder, head, extra)
    optimizer = build_optimizer(network.parameters(), cfg.get("optimizer", {}))
    epochs = int(cfg.get("epochs", 10))
    lr = lr_schedule(cfg, len(sampler))

    def on_step(epoch: int, batch: int, num_batches: int) -> dict:
        return {"margin": margins.step(head, epoch, batch, num_batches)} if margins else {}

    exp_dir = Path(args.exp_dir)
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
                      config={**cfg, "train_data": {"cuts": str(args.cuts), "sha256": file_sha256(args.cuts)},
                              **({"init": {"model": str(init), "sha256": file_sha256(init)}} if init else {})})
    try:
        trainer.fit()
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
