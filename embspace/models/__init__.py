"""Speaker encoders: ``(batch, frames, feat_dim)`` fbank -> ``(batch, embed_dim)`` embeddings."""

from __future__ import annotations

from typing import Any

from torch import nn

from embspace.models.ecapa import ECAPATDNN
from embspace.models.pooling import ASP, TSTP, build_pooling
from embspace.models.resnet import ResNet
from embspace.models.xvector import XVector
from embspace.utils.registry import build_from_config

MODELS: dict[str, type[nn.Module]] = {"xvector": XVector, "ecapa": ECAPATDNN, "resnet": ResNet}

__all__ = [
    "ASP", "ECAPATDNN", "MODELS", "ResNet", "TSTP", "XVector", "build_model", "build_pooling", "count_parameters"
]


def build_model(cfg: dict[str, Any]) -> nn.Module:
    """Build an encoder from ``{"type": "xvector"|"ecapa"|"resnet", "feat_dim": ..., "embed_dim": ..., **kwargs}``.

    An unknown type or keyword raises ValueError naming it.
    """
    return build_from_config(MODELS, cfg, "model")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
