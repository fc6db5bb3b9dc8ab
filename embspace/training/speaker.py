"""Speaker-classification training: encoder + margin head (+ optional extra loss terms), and the
initialisation of an encoder from a pre-trained model file (fine-tuning)."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from embspace.losses.extra import ExtraLoss, needs_pairs
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
    from embspace.extract import build_strict
    from embspace.features.frontend import embspace_frontend, frontend_of

    encoder = build_strict(state["model"], saved, path)
    if frontend_of(state) != embspace_frontend(int(saved.get("feat_dim", 80))):
        logging.warning(f"{path}: the model was trained on another front-end ({frontend_of(state)['window_type']} "
                        "window...); fine-tuning uses embspace's fbank, which the new model files record")
    return encoder, saved


@torch.no_grad()
def imprint_head(encoder: nn.Module, head: nn.Module, dataset, labels: list[int], per_class: int = 4,
                 seed: int = 0, batch_size: int = 64) -> None:
    """Set a cosine head's class weights to the mean (unit-length) embedding of ``per_class`` training
    items of each class ("weight imprinting"): a fine-tuning run then starts from a head that already
    agrees with the pre-trained encoder instead of a random one.

    ``dataset[(index, seed)]`` returns feature tensors and the label (the plain crop dataset) or
    more fields (the parallel-pair dataset); every feature tensor of an item is used.
    """
    if not hasattr(head, "weight") or head.weight.shape[0] != max(labels) + 1:
        raise ValueError("class-mean initialisation needs a cosine head with one weight row per class")
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(lab, []).append(i)
    feats, owners = [], []
    for lab, idx in sorted(by_class.items()):
        for i in rng.choice(idx, size=min(per_class, len(idx)), replace=False):
            views = [x for x in dataset[(int(i), int(rng.integers(2**31 - 1)))] if isinstance(x, torch.Tensor)]
            feats += views
            owners += [lab] * len(views)
    was_training = encoder.training
    encoder.eval()
    device = head.weight.device
    sums = torch.zeros_like(head.weight, dtype=torch.float32)
    owners_t = torch.tensor(owners, device=device)
    for s in range(0, len(feats), batch_size):
        emb = F.normalize(encoder(torch.stack(feats[s:s + batch_size]).to(device)).float(), dim=-1)
        sums.index_add_(0, owners_t[s:s + batch_size], emb)
    encoder.train(was_training)
    head.weight.copy_(F.normalize(sums, dim=-1).to(head.weight.dtype))
