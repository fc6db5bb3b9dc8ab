"""SEED settings from a YAML mapping (``conf/seed_*.yaml``), validated up front.

Sections (defaults in brackets; every key optional)::

    seed: 42                       # training seed (batch order, diffusion noise)
    model: {width_mult: 2, num_blocks: 3, dropout: 0.0, skip: false}
    diffusion: {num_steps: 1000, beta_start: 1.0e-4, beta_end: 0.02, t_min: 0, t_max: 1000, clip_sample: true}
    normalisation: sqrt_d          # sqrt_d | none | official (see embspace.seed.norm)
    optimizer: {lr: 5.0e-4, weight_decay: 5.0e-5}
    batch_size: 256                # diffusion pairs per step
    epochs: 40
    keep_last: 2                   # epoch model files kept (the dev-best one is copied aside)
    save_every_steps: 0            # also checkpoint within epochs (0: at epoch ends only)
    inference: {t_star: 50, num_draws: 1, ddim_steps: 0}
    data: {dev_speakers: 16, aug_utts_per_speaker: 6, dev_utts_per_speaker: 5,
           kinds: [noise, music, reverb], aug_epochs: 1, clean_pairs: true}
    augment: {noise_snr: [0, 15], music_snr: [5, 15], num_noises: 30, num_music: 30,
              num_rirs: 50, t60: [0.2, 0.8], bank_seed: 0}
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from embspace.seed.norm import MODES
from embspace.training.config import load_config as read_yaml_mapping
from embspace.utils.errors import DataError

KINDS = ("noise", "music", "reverb")


@dataclass
class ModelConfig:
    width_mult: int = 2
    num_blocks: int = 3
    dropout: float = 0.0
    skip: bool = False  # x0 = x_t + g(x_t, t) (not in the paper): starts as the identity


@dataclass
class DiffusionConfig:
    num_steps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    t_min: int = 0  # training timesteps are drawn uniformly from [t_min, t_max)
    t_max: int = 1000
    clip_sample: bool = True  # clamp x0 predictions to ±3√D, as diffusers' DDIMScheduler does


@dataclass
class InferenceConfig:
    t_star: int = 50  # the timestep of single-step enhancement (and the start of DDIM)
    num_draws: int = 1  # average the enhanced embedding over this many noise draws
    ddim_steps: int = 0  # 0/1: single step; N > 1: deterministic DDIM from t_star in N steps


@dataclass
class DataConfig:
    dev_speakers: int = 16  # training speakers held out of SEED training for model selection
    aug_utts_per_speaker: int = 6  # utterances per training speaker that get augmented copies
    dev_utts_per_speaker: int = 5  # utterances per dev speaker that get augmented copies
    kinds: tuple[str, ...] = KINDS
    aug_epochs: int = 1  # independent augmentation draws per utterance and kind (cached extractor passes)
    clean_pairs: bool = True  # also train on clean -> clean pairs of every training utterance


@dataclass
class AugmentConfig:
    noise_snr: tuple[float, float] = (0.0, 15.0)
    music_snr: tuple[float, float] = (5.0, 15.0)
    num_noises: int = 30  # generated noises when no noise manifest is given
    num_music: int = 30  # generated tonal "music" pieces when no music manifest is given
    num_rirs: int = 50  # synthetic RIRs when no RIR manifest is given
    t60: tuple[float, float] = (0.2, 0.8)  # of the synthetic RIRs
    bank_seed: int = 0


@dataclass
class SeedConfig:
    seed: int = 42
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    normalisation: str = "sqrt_d"
    optimizer: dict = field(default_factory=lambda: {"lr": 5e-4, "weight_decay": 5e-5})
    batch_size: int = 256
    epochs: int = 40
    keep_last: int = 2
    save_every_steps: int = 0
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-friendly dict (tuples become lists)."""
        def plain(x):
            if isinstance(x, dict):
                return {k: plain(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [plain(v) for v in x]
            return x
        return plain(asdict(self))


_SECTIONS = {"model": ModelConfig, "diffusion": DiffusionConfig, "inference": InferenceConfig,
             "data": DataConfig, "augment": AugmentConfig}


def _section(cls, raw: Any, name: str, path: str | os.PathLike | None):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise DataError(f"'{name}' must be a mapping", path, key=name)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise DataError(f"unknown key(s) in '{name}': {', '.join(unknown)}", path, key=name)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return cls(**values)


def config_from_dict(raw: dict, path: str | os.PathLike | None = None) -> SeedConfig:
    """Build and validate a :class:`SeedConfig`; a bad value is a DataError naming the key."""
    if not isinstance(raw, dict):
        raise DataError("a SEED config must be a YAML mapping", path)
    top = {f.name for f in fields(SeedConfig)}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise DataError(f"unknown key(s): {', '.join(unknown)}", path, key=unknown[0])
    kw: dict[str, Any] = {k: v for k, v in raw.items() if k not in _SECTIONS}
    for name, cls in _SECTIONS.items():
        kw[name] = _section(cls, raw.get(name), name, path)
    if "optimizer" in kw:
        kw["optimizer"] = {"lr": 5e-4, "weight_decay": 5e-5, **(kw["optimizer"] or {})}
    cfg = SeedConfig(**kw)
    validate(cfg, path)
    return cfg


def validate(cfg: SeedConfig, path: str | os.PathLike | None = None) -> None:
    """Raise DataError for values that cannot work."""
    def bad(key: str, msg: str) -> None:
        raise DataError(msg, path, key=key)

    d, i = cfg.diffusion, cfg.inference
    if cfg.normalisation not in MODES:
        bad("normalisation", f"must be one of {', '.join(MODES)}")
    if d.num_steps < 2:
        bad("diffusion.num_steps", "must be >= 2")
    if not 0 <= d.t_min < d.t_max <= d.num_steps:
        bad("diffusion.t_max", f"need 0 <= t_min < t_max <= num_steps ({d.num_steps})")
    if not 0 < d.beta_start < d.beta_end < 1:
        bad("diffusion.beta_end", "need 0 < beta_start < beta_end < 1")
    if not 0 <= i.t_star < d.num_steps:
        bad("inference.t_star", f"must be in [0, {d.num_steps})")
    if i.num_draws < 1:
        bad("inference.num_draws", "must be >= 1")
    if i.ddim_steps < 0 or i.ddim_steps > i.t_star + 1:
        bad("inference.ddim_steps", "must be in [0, t_star + 1]")
    if cfg.model.width_mult < 1 or cfg.model.num_blocks < 0 or not 0 <= cfg.model.dropout < 1:
        bad("model", "need width_mult >= 1, num_blocks >= 0, 0 <= dropout < 1")
    if cfg.batch_size < 1 or cfg.epochs < 1:
        bad("batch_size", "batch_size and epochs must be >= 1")
    if cfg.optimizer.get("lr", 0) <= 0:
        bad("optimizer.lr", "must be > 0")
    if set(cfg.data.kinds) - set(KINDS) or not cfg.data.kinds:
        bad("data.kinds", f"choose from {', '.join(KINDS)}")
    if cfg.data.dev_speakers < 2:
        bad("data.dev_speakers", "need at least 2 dev speakers for a dev trial list")
    if cfg.data.aug_epochs < 1 or cfg.data.aug_utts_per_speaker < 0 or cfg.data.dev_utts_per_speaker < 1:
        bad("data", "need aug_epochs >= 1, aug_utts_per_speaker >= 0, dev_utts_per_speaker >= 1")
    a = cfg.augment
    for key in ("noise_snr", "music_snr", "t60"):
        lo, hi = getattr(a, key)
        if lo > hi:
            bad(f"augment.{key}", f"empty range ({lo} > {hi})")


def load_config(path: str | os.PathLike) -> SeedConfig:
    """Read ``path`` (YAML) into a validated :class:`SeedConfig`."""
    raw = read_yaml_mapping(path)
    try:
        return config_from_dict(raw, path)
    except TypeError as e:  # a scalar where a pair was expected, etc.
        raise DataError(f"bad value: {e}", path) from None
