"""Training heads (``head(embeddings, labels) -> (loss, logits)``) and margin / learning-rate schedules."""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from embspace.losses.aam import AAMSoftmax, AMSoftmax, Softmax
from embspace.losses.schedule import MarginScheduler, WarmupExpDecay
from embspace.utils.registry import build_from_config

LOSSES: dict[str, Callable[..., nn.Module]] = {"aam": AAMSoftmax, "am": AMSoftmax, "softmax": Softmax}

__all__ = [
    "AAMSoftmax", "AMSoftmax", "LOSSES", "MarginScheduler", "Softmax", "WarmupExpDecay", "build_loss", "register_loss"
]


def register_loss(name: str, factory: Callable[..., nn.Module]) -> None:
    """Hook for extra heads: ``factory(embed_dim=..., num_classes=..., **kwargs)`` must return a module whose
    forward is ``(embeddings, labels) -> (loss, logits)``."""
    if name in LOSSES:
        raise ValueError(f"loss type '{name}' is already registered")
    LOSSES[name] = factory


def build_loss(cfg: dict[str, Any]) -> nn.Module:
    """Build a head from ``{"type": "aam"|"am"|"softmax"|<registered>, "embed_dim": ..., "num_classes": ..., **kw}``.

    An unknown type or keyword raises ValueError naming it.
    """
    return build_from_config(LOSSES, cfg, "loss")
