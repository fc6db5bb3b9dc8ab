"""Alignment losses on paired mapped embeddings ``zx[i], zy[i]`` (the same utterance through both models).

* ``cosine``: mean ``1 - cos(zx_i, zy_i)``.
* ``mse``: mean squared distance of the length-normalised vectors (``2 - 2 cos`` when both are
  normalised: the same minimiser as ``cosine``, kept as the option the spec names).
* ``infonce``: cross-model contrastive term; row i of ``zx zy^T / temperature`` against every
  column (and the transpose), positives being the same speaker (``positives: speaker``, the
  supervised-contrastive form) or only the same utterance (``positives: utterance``).
* ``speaker``: a margin-softmax speaker classifier (``embspace.losses``) on both mapped sides.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from embspace.losses import build_loss

TERMS = ("cosine", "mse", "infonce", "speaker")


def cosine_loss(zx: torch.Tensor, zy: torch.Tensor) -> torch.Tensor:
    return (1.0 - F.cosine_similarity(zx, zy, dim=1)).mean()


def mse_loss(zx: torch.Tensor, zy: torch.Tensor) -> torch.Tensor:
    return (F.normalize(zx, dim=1) - F.normalize(zy, dim=1)).pow(2).sum(1).mean()


def infonce_loss(zx: torch.Tensor, zy: torch.Tensor, labels: torch.Tensor | None, temperature: float = 0.1) -> torch.Tensor:
    """Symmetric cross-model InfoNCE; with ``labels`` every same-speaker pair is a positive
    (the loss of a row is the mean over its positives of ``-log softmax``)."""
    logits = F.normalize(zx, dim=1) @ F.normalize(zy, dim=1).T / temperature
    if labels is None:
        pos = torch.eye(len(zx), dtype=torch.bool, device=zx.device)
    else:
        pos = labels[:, None] == labels[None, :]
    pos = pos.float()

    def one_way(lg: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        logp = lg - torch.logsumexp(lg, dim=1, keepdim=True)
        return -((logp * p).sum(1) / p.sum(1)).mean()

    return 0.5 * (one_way(logits, pos) + one_way(logits.T, pos.T))


class AlignmentLoss(nn.Module):
    """Weighted sum of the terms; ``forward(zx, zy, labels) -> (loss, {term: value})``.

    Args:
        weights: ``{term: weight}``; terms with weight 0 are skipped.
        z_dim, num_speakers: size of the speaker classifier (``speaker`` term only).
        temperature, positives: InfoNCE settings.
        speaker_head: head config for ``embspace.losses.build_loss`` (default AAM, margin 0.2, scale 30).
    """

    def __init__(self, weights: dict[str, float], z_dim: int = 0, num_speakers: int = 0, temperature: float = 0.1,
                 positives: str = "speaker", speaker_head: dict[str, Any] | None = None) -> None:
        super().__init__()
        unknown = sorted(set(weights) - set(TERMS))
        if unknown:
            raise ValueError(f"unknown loss term(s) {', '.join(unknown)} (known: {', '.join(TERMS)})")
        self.weights = {k: float(v) for k, v in weights.items() if float(v) != 0.0}
        if not self.weights:
            raise ValueError("every loss weight is zero")
        if positives not in ("speaker", "utterance"):
            raise ValueError(f"positives must be 'speaker' or 'utterance', got {positives!r}")
        self.temperature, self.positives = float(temperature), positives
        self.head = None
        if "speaker" in self.weights:
            head_cfg = {"type": "aam", "margin": 0.2, "scale": 30.0, **(speaker_head or {})}
            self.head = build_loss({**head_cfg, "embed_dim": z_dim, "num_classes": num_speakers})

    def forward(self, zx: torch.Tensor, zy: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        terms: dict[str, torch.Tensor] = {}
        if "cosine" in self.weights:
            terms["cosine"] = cosine_loss(zx, zy)
        if "mse" in self.weights:
            terms["mse"] = mse_loss(zx, zy)
        if "infonce" in self.weights:
            terms["infonce"] = infonce_loss(zx, zy, labels if self.positives == "speaker" else None, self.temperature)
        if "speaker" in self.weights:
            terms["speaker"] = self.head(torch.cat([zx, zy]), torch.cat([labels, labels]))[0]
        loss = sum(self.weights[k] * v for k, v in terms.items())
        return loss, {k: v.detach() for k, v in terms.items()}
