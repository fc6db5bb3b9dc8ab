"""Speaker-classification training: encoder + margin head (+ optional extra loss terms), and the
initialisation of an encoder from a pre-trained model file (fine-tuning)."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from embspace.losses.extra import ExtraLoss, needs_pairs
from embspace.models import build_model
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError


class SpeakerNet(nn.Module):
    """``forward(feats, labels[, pairs]) -> (loss, stats)`` for the generic trainer.

    ``stats`` holds ``acc`` (training accuracy of the margin-free logits argmax) and each extra term.
    ``pairs`` (``(K, 2)`` batch positions, e.g. parallel samples) go to the extra terms that need them.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, extra: list[tuple[str, float, ExtraLoss]] | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.extra = extra or []

    def forward(self, feats: torch.Tensor, labels: torch.Tensor,
                pairs: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        emb = self.encoder(feats)
        loss, logits = self.head(emb, labels)
        stats = {"acc": (logits.argmax(dim=-1) == labels).float().mean().detach()}
        for name, weight, term in self.extra:
            if needs_pairs(term):
                if pairs is None:
                    raise ValueError(f"extra loss '{name}' needs pairs, but the batches have none "
                                     "(parallel samples come from an 'emotion:' section)")
                value = term(emb, labels, pairs)
            else:
                value = term(emb, labels)
            loss = loss + weight * value
            stats[name] = value.detach()
        return loss, stats


def load_pretrained(path: str | os.PathLike, model_cfg: dict[str, Any] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """An encoder initialised from a model file (``avg_model.pt``, ``model_<e>.pt``) and its config.

    The architecture is the file's ``model_config``; a ``model_cfg`` given as well must agree with it.
    """
    state = ckpt.load(path)
    if "model" not in state or "model_config" not in state:
        raise DataError("not an encoder model file (needs 'model' and 'model_config')", path)
    saved = dict(state["model_config"])
    if model_cfg is not None and dict(model_cfg) != saved:
        diff = sorted(k for k in set(saved) | set(model_cfg) if saved.get(k) != model_cfg.get(k))
        raise DataError(f"the config's model section differs from the pre-trained model's in {', '.join(diff)} "
                        "(leave 'model:' out to take the pre-trained architecture)", path)
    encoder = build_model(saved)
    encoder.load_state_dict(state["model"])
    return encoder, saved
