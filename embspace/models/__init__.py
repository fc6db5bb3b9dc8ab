"""Speaker encoders: ``(batch, frames, feat_dim)`` fbank -> ``(batch, embed_dim)`` embeddings."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from embspace.models.ecapa import ECAPATDNN
from embspace.models.pooling import ASP, TSTP, build_pooling
from embspace.models.resnet import ResNet
from embspace.models.xvector import XVector

MODELS: dict[str, type[nn.Module]] = {"xvector": XVector, "ecapa": ECAPATDNN, "resnet": ResNet}

__all__ = [
    "ASP", "ECAPATDNN", "MODELS", "ResNet", "TSTP", "XVector", "build_model", "build_pooling", "count_parameters"
]


def build_model(cfg: dict[str, Any]) -> nn.Module:
    """Build an encoder from ``{"type": "xvector"|"ecapa"|"resnet", "feat_dim": ..., "embed_dim": ..., **kwargs}``.

    An unknown type or keyword raises ValueError naming it.
    """
    cfg = dict(cfg)
    kind = cfg.pop("type", None)
    if kind not in MODELS:
        raise ValueError(f"unknown model type '{kind}' (expected one of {sorted(MODELS)})")
    cls = MODELS[kind]
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise ValueError(
            f"unknown option(s) for model '{kind}': {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
    return cls(**cfg)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
