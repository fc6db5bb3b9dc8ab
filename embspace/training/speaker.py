"""Speaker-classification training: encoder + margin head (+ optional extra loss terms)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from embspace.losses.extra import ExtraLoss


class SpeakerNet(nn.Module):
    """``forward(feats, labels) -> (loss, stats)`` for the generic trainer.

    ``stats`` holds ``acc`` (training accuracy of the margin-free logits argmax) and each extra term.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, extra: list[tuple[str, float, ExtraLoss]] | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.extra = extra or []

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, Any]]:
        emb = self.encoder(feats)
        loss, logits = self.head(emb, labels)
        stats = {"acc": (logits.argmax(dim=-1) == labels).float().mean().detach()}
        for name, weight, term in self.extra:
            value = term(emb, labels)
            loss = loss + weight * value
            stats[name] = value.detach()
        return loss, stats
