"""Classification heads for speaker training: AAM-softmax (ArcFace), AM-softmax (CosFace), plain softmax.

Every head is called as ``head(embeddings, labels) -> (loss, logits)``: ``loss`` is the batch-mean cross
entropy of the margin-adjusted logits, ``logits`` the margin-free ``(batch, num_classes)`` float32 scores
(``scale * cos`` for margin heads), fit for accuracy. Margin heads have ``margin`` and ``set_margin(m)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_SIN_EPS = 1e-6  # keeps d sin(theta) / d cos(theta) finite at theta = 0 or pi


class CosineHead(nn.Module):
    """Shared part of the margin heads: class weights and the scaled cosine similarity."""

    def __init__(self, embed_dim: int, num_classes: int, margin: float, scale: float):
        super().__init__()
        if embed_dim < 1 or num_classes < 2:
            raise ValueError(f"need embed_dim >= 1 and num_classes >= 2, got {embed_dim}, {num_classes}")
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.embed_dim, self.num_classes, self.scale = embed_dim, num_classes, float(scale)
        self.weight = nn.Parameter(torch.empty(num_classes, embed_dim))
        nn.init.xavier_uniform_(self.weight)
        self.margin = 0.0
        self.set_margin(margin)

    def set_margin(self, margin: float) -> None:
        """Change the margin (e.g. from a MarginScheduler); it is not part of the state dict."""
        if not 0.0 <= margin < math.pi / 2:
            raise ValueError(f"margin must be in [0, pi/2), got {margin}")
        self.margin = float(margin)

    def cosine(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cosine between each (float32) embedding and each class weight, clamped to [-1, 1]."""
        if emb.dim() != 2 or emb.shape[1] != self.embed_dim:
            raise ValueError(f"expected (batch, {self.embed_dim}) embeddings, got {tuple(emb.shape)}")
        if labels.shape != emb.shape[:1]:
            raise ValueError(f"expected labels of shape ({emb.shape[0]},), got {tuple(labels.shape)}")
        with torch.autocast(device_type=emb.device.type, enabled=False):  # float32 even under mixed precision
            return F.linear(F.normalize(emb.float()), F.normalize(self.weight.float())).clamp(-1.0, 1.0)


class AAMSoftmax(CosineHead):
    """Additive angular margin softmax (ArcFace): the target logit is ``scale * cos(theta + margin)``.

    Where ``theta + margin > pi`` (``cos theta <= cos(pi - m)``), the target logit falls back to
    ``cos theta - m sin(m)`` so that it stays monotonic in theta; ``easy_margin`` instead applies the margin
    only where ``cos theta > 0``. With margin 0 this is the normalised-weight scaled softmax.
    """

    def __init__(
        self, embed_dim: int, num_classes: int, margin: float = 0.2, scale: float = 32.0, easy_margin: bool = False
    ):
        super().__init__(embed_dim, num_classes, margin, scale)
        self.easy_margin = easy_margin

    def set_margin(self, margin: float) -> None:
        super().set_margin(margin)
        m = self.margin
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th, self.mm = math.cos(math.pi - m), math.sin(math.pi - m) * m

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos = self.cosine(emb, labels)
        sin = (1.0 - cos * cos).clamp(min=_SIN_EPS).sqrt()
        phi = cos * self.cos_m - sin * self.sin_m
        if self.easy_margin:
            phi = torch.where(cos > 0, phi, cos)
        else:
            phi = torch.where(cos > self.th, phi, cos - self.mm)
        target = F.one_hot(labels, self.num_classes).bool()
        return F.cross_entropy(self.scale * torch.where(target, phi, cos), labels), self.scale * cos.detach()


class AMSoftmax(CosineHead):
    """Additive margin softmax (CosFace): the target logit is ``scale * (cos theta - margin)``."""

    def __init__(self, embed_dim: int, num_classes: int, margin: float = 0.2, scale: float = 32.0):
        super().__init__(embed_dim, num_classes, margin, scale)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos = self.cosine(emb, labels)
        target = F.one_hot(labels, self.num_classes).bool()
        loss = F.cross_entropy(self.scale * torch.where(target, cos - self.margin, cos), labels)
        return loss, self.scale * cos.detach()


class Softmax(nn.Module):
    """Plain linear softmax classifier (no normalisation, no margin)."""

    def __init__(self, embed_dim: int, num_classes: int):
        super().__init__()
        self.embed_dim, self.num_classes = embed_dim, num_classes
        self.fc = nn.Linear(embed_dim, num_classes)

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.fc(emb).float()
        return F.cross_entropy(logits, labels), logits.detach()
