"""Optional extra loss terms added to the classification loss: ``total = cls + sum(w_i * term_i)``.

Each term is ``term(embeddings, labels) -> scalar``. Later work registers more terms here
(cosine-similarity between parallel samples, masking losses) by name.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

ExtraLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def same_speaker_cosine(emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos`` over all same-speaker pairs in the batch (0 when there are none)."""
    e = F.normalize(emb.float(), dim=-1)
    sim = e @ e.t()
    same = labels[:, None] == labels[None, :]
    same &= ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    if not same.any():
        return emb.sum() * 0.0
    return (1.0 - sim[same]).mean()


EXTRA_LOSSES: dict[str, ExtraLoss] = {"same_speaker_cosine": same_speaker_cosine}


def build_extra_losses(cfg: list[dict] | None) -> list[tuple[str, float, ExtraLoss]]:
    """``[{"name": ..., "weight": ...}, ...]`` -> ``[(name, weight, fn)]``; unknown names are errors."""
    terms = []
    for item in cfg or []:
        name = item.get("name")
        if name not in EXTRA_LOSSES:
            raise ValueError(f"unknown extra loss '{name}' (known: {', '.join(sorted(EXTRA_LOSSES))})")
        terms.append((name, float(item.get("weight", 1.0)), EXTRA_LOSSES[name]))
    return terms
