"""Training configs: load one, and check it against the training data before anything is launched.

:func:`check_config` builds what ``embspace.bin.train`` builds from a config (encoder, head, extra
losses, optimizer, schedules, augmentation options) and compares the batch and feature settings
with a summary of the training cuts, so that a bad config fails with one line naming it instead of
a traceback from every torchrun worker.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from embspace.training.methods import method_of
from embspace.utils.errors import DataError

if TYPE_CHECKING:  # torch is imported where it is used: bin/train reads its config before torch loads
    import torch


def load_config(path: str | os.PathLike) -> dict:
    """Read a YAML training config; a missing file or non-mapping is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError("config not found", path)
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DataError(f"not valid YAML: {' '.join(str(e).split())}", path) from None
    if not isinstance(cfg, dict):
        raise DataError("config must be a YAML mapping", path)
    return cfg


def build_optimizer(params, cfg: dict) -> torch.optim.Optimizer:
    """``{"type": "sgd"|"adam", ...}`` -> optimizer (learning rate 0: the schedule sets it)."""
    import torch

    cfg = dict(cfg)
    kind = cfg.pop("type", "sgd")
    if kind == "sgd":
        return torch.optim.SGD(params, lr=0.0, momentum=cfg.get("momentum", 0.9), nesterov=cfg.get("nesterov", True),
                               weight_decay=cfg.get("weight_decay", 1e-4))
    if kind == "adam":
        return torch.optim.AdamW(params, lr=0.0, weight_decay=cfg.get("weight_decay", 1e-4))
    raise ValueError(f"unknown optimizer '{kind}' (sgd or adam)")


@dataclass(frozen=True)
class CutsSummary:
    """What a config is checked against: counts and the feature dimension of the training cuts."""

    num_cuts: int
    utts_per_speaker: dict[str, int]
    feature_dim: int | None  # None: the cuts carry no stored features
    has_audio: bool

    @property
    def num_speakers(self) -> int:
        return len(self.utts_per_speaker)


def summarize_cuts(path: str | os.PathLike) -> CutsSummary:
    """Read a lhotse cuts manifest (``.jsonl`` or ``.jsonl.gz``) as plain JSON: fast even for a million cuts."""
    path = Path(path)
    if not path.is_file():
        raise DataError("training cuts not found", path)
    speakers: Counter[str] = Counter()
    dims, n, audio = set(), 0, True
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                cut = json.loads(line)
                speakers[cut["supervisions"][0]["speaker"]] += 1
            except (json.JSONDecodeError, KeyError, IndexError, TypeError):
                raise DataError("not a cut with a supervision naming a speaker", path, line_no) from None
            dims.add((cut.get("features") or {}).get("num_features"))
            audio = audio and "recording" in cut
            n += 1
    if n == 0:
        raise DataError("no cuts", path)
    if len(dims) > 1:
        raise DataError(f"cuts have features of different dimensions: {sorted(dims, key=str)}", path)
    return CutsSummary(n, dict(speakers), dims.pop(), audio)


def _section(cfg: dict, name: str) -> dict:
    value = cfg.get(name) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected a mapping, got {value!r}")
    return value


def lr_schedule(cfg: dict, iters_per_epoch: int):
    """The learning-rate schedule (``lr_schedule`` and ``epochs``)."""
    from embspace.losses.schedule import WarmupExpDecay

    lr = _section(cfg, "lr_schedule")
    return WarmupExpDecay(float(lr.get("initial_lr", 0.1)), float(lr.get("final_lr", 1e-3)),
                          float(lr.get("warmup_epochs", 1)), int(cfg.get("epochs", 10)), iters_per_epoch)


def build_encoder(cfg: dict, init: str | os.PathLike | None = None):
    """``(encoder, model config)``: from the model file ``init`` (fine-tuning; a ``model:`` section
    must agree with it) or from the ``model:`` section. ValueError naming the section."""
    from embspace.models import build_model

    model_cfg = _section(cfg, "model")
    if init:
        from embspace.training.speaker import load_pretrained

        try:
            return load_pretrained(init, model_cfg or None)
        except DataError as e:
            raise ValueError(f"init: {e}") from None
    if "model" not in cfg:
        raise ValueError("the config needs a 'model:' section (or 'init:' / --init, a pre-trained model)")
    if "type" not in model_cfg:
        raise ValueError("model: no 'type' (xvector, ecapa or resnet)")
    try:
        return build_model(dict(model_cfg)), dict(model_cfg)
    except (ValueError, TypeError) as e:
        raise ValueError(f"model: {e}") from None


def loss_config(cfg: dict) -> dict:
    """The ``loss:`` section with its default type (aam)."""
    return {"type": "aam", **_section(cfg, "loss")}


def build_head(cfg: dict, model_cfg: dict, num_classes: int):
    """The margin-softmax head of ``loss:`` for ``num_classes`` speakers. ValueError naming the section."""
    from embspace.losses import build_loss

    try:
        return build_loss({**loss_config(cfg), "embed_dim": model_cfg.get("embed_dim", 192), "num_classes": num_classes})
    except (ValueError, TypeError) as e:
        raise ValueError(f"loss: {e}") from None


def head_init_mode(cfg: dict) -> str:
    """``head_init``: random or class_means (ValueError otherwise)."""
    mode = cfg.get("head_init", "random")
    if mode not in ("random", "class_means"):
        raise ValueError(f"head_init: random or class_means, got {mode!r}")
    return mode


def build_margins(cfg: dict, head):
    """The margin schedule of ``margin_schedule:`` (None without one, or for a head without margin)."""
    from embspace.losses.schedule import MarginScheduler

    if not cfg.get("margin_schedule"):
        return None
    margins = MarginScheduler(final_margin=float(loss_config(cfg).get("margin", 0.2)), **_section(cfg, "margin_schedule"))
    return margins if hasattr(head, "set_margin") else None


def _check(cfg: dict[str, Any], cuts: CutsSummary) -> str:
    """Raise ValueError with the first problem; return a one-line description of what was checked."""
    from embspace.losses.extra import build_extra_losses
    from embspace.models import count_parameters
    from embspace.training.augment import AugmentOptions
    from embspace.training.numerics import wants_portable

    wants_portable(cfg)
    encoder, model_cfg = build_encoder(cfg, cfg.get("init"))
    head_init_mode(cfg)
    head = build_head(cfg, model_cfg, cuts.num_speakers)
    for name, build in (("extra_losses", lambda: build_extra_losses(cfg.get("extra_losses"))),
                        ("optimizer", lambda: build_optimizer(head.parameters(), _section(cfg, "optimizer"))),
                        ("margin_schedule", lambda: build_margins(cfg, head)),
                        ("lr_schedule", lambda: lr_schedule(cfg, 1))):
        try:
            build()
        except (ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"{name}: {e}") from None
    data = _section(cfg, "data")
    p, m, frames = (int(data.get("spk_per_batch", 32)), int(data.get("utts_per_spk", 2)), int(data.get("num_frames", 200)))
    if p < 1 or m < 1 or frames < 1:
        raise ValueError(f"data: spk_per_batch, utts_per_spk and num_frames must be >= 1, got {p}, {m}, {frames}")
    if p > cuts.num_speakers:
        raise ValueError(f"data.spk_per_batch = {p} but the training cuts have {cuts.num_speakers} speakers")
    if p * m > cuts.num_cuts:
        raise ValueError(f"data.spk_per_batch x data.utts_per_spk = {p} x {m} asks for {p * m} utterances per batch "
                         f"but the training cuts have {cuts.num_cuts}")
    method = method_of(cfg)
    if method is not None:
        if cfg.get("augment") and method.augment_conflict:
            raise ValueError(f"{method.section}: cannot be combined with augment ({method.augment_conflict})")
        try:
            method.check(cfg[method.section], frames)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{method.section}: {e}") from None
    feat_dim = encoder.feat_dim
    if cfg.get("augment"):
        try:
            aug = AugmentOptions(**_section(cfg, "augment"))
        except TypeError as e:
            raise ValueError(f"augment: {e}") from None
        if not cuts.has_audio:
            raise ValueError("augment: on-the-fly features need cuts with audio, the training cuts have none")
        for manifest in (aug.noise_manifest, aug.rir_manifest):
            if manifest and not Path(manifest).is_file():
                raise ValueError(f"augment: manifest not found: {manifest}")
        if aug.num_mel_bins != feat_dim:
            raise ValueError(f"model.feat_dim = {feat_dim} but augment.num_mel_bins = {aug.num_mel_bins}")
    elif cuts.feature_dim is None:
        raise ValueError("the training cuts have no stored features (compute fbank first, or add an augment: block "
                         "for on-the-fly features)")
    elif cuts.feature_dim != feat_dim:
        raise ValueError(f"model.feat_dim = {feat_dim} but the features of the training cuts have {cuts.feature_dim} dimensions")
    return (f"{cuts.num_speakers} speakers, {cuts.num_cuts} utterances, {feat_dim}-dim features; model "
            f"{model_cfg['type']} ({count_parameters(encoder) / 1e6:.2f}M parameters), head {loss_config(cfg)['type']}, "
            f"batches of {p} speakers x {m} utterances")


def check_config(cfg: dict[str, Any], cuts: CutsSummary, config_path: str | os.PathLike) -> str:
    """Check a config against the training data; DataError naming the config on the first problem.

    Returns a one-line summary of what the run will be.
    """
    try:
        return _check(cfg, cuts)
    except ValueError as e:
        raise DataError(str(e), config_path) from None
