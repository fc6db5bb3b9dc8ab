"""The baseline NESSA must beat: cosine scoring in a shared speaker-logit space.

Each model re-expresses an embedding as its similarities to the same K reference speakers (rows of
its classifier weights, or its centroids of a reference speaker list); the two K-dimensional
vectors are then directly comparable.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError

LOGIT_TRANSFORMS = ("cosine", "softmax")


class LogitMap(nn.Module):
    """``x -> cos(x, r_k)`` for K reference rows (or their softmax at ``temperature``), minus a learnt
    mean logit vector (``center``, zero until :meth:`fit_center`)."""

    def __init__(self, reference_dim: int, num_references: int, transform: str = "cosine", temperature: float = 0.1) -> None:
        super().__init__()
        if transform not in LOGIT_TRANSFORMS:
            raise ValueError(f"unknown logit transform '{transform}' (one of {', '.join(LOGIT_TRANSFORMS)})")
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.transform, self.temperature = transform, float(temperature)
        self.register_buffer("reference", torch.zeros(num_references, reference_dim))
        self.register_buffer("center", torch.zeros(num_references))

    def set_reference(self, reference: np.ndarray) -> None:
        with torch.no_grad():
            self.reference.copy_(F.normalize(torch.as_tensor(reference, dtype=torch.float32), dim=1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        s = F.normalize(x, dim=1) @ self.reference.T
        return torch.softmax(s / self.temperature, dim=1) if self.transform == "softmax" else s

    @torch.no_grad()
    def fit_center(self, x: torch.Tensor) -> None:
        """Set ``center`` to the mean logit vector of ``x`` (e.g. the reference speakers' utterances)."""
        self.center.copy_(self.logits(x).mean(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x) - self.center


def speaker_centroids(emb: np.ndarray, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Per-speaker means of (normalised) embeddings, speakers sorted: ``(speakers, K x D)``."""
    speakers, inv = np.unique(np.asarray(labels), return_inverse=True)
    sums = np.zeros((len(speakers), emb.shape[1]))
    np.add.at(sums, inv, np.asarray(emb, np.float64))
    return [str(s) for s in speakers], (sums / np.bincount(inv)[:, None]).astype(np.float32)


def classifier_reference(checkpoint: str | os.PathLike, spk2id: dict[str, int], speakers: Sequence[str]) -> np.ndarray:
    """Rows of a trained speaker classifier's weight matrix (``head.weight`` in ``checkpoint_latest.pt``)
    for ``speakers``, in that order. A speaker the classifier was not trained on is a DataError."""
    state = ckpt.load(checkpoint)
    net = state.get("network", state.get("model", {}))
    weight = net.get("head.weight") if isinstance(net, dict) else None
    if weight is None:
        raise DataError("no classifier weights ('head.weight' in 'network') in this checkpoint", checkpoint)
    rows = []
    for s in speakers:
        if s not in spk2id:
            raise DataError("reference speaker is not one of the classifier's speakers", checkpoint, key=s)
        i = spk2id[s]
        if not 0 <= i < weight.shape[0]:
            raise DataError(f"speaker index {i} outside the classifier's {weight.shape[0]} rows", checkpoint, key=s)
        rows.append(weight[i].float().numpy())
    if not rows:
        raise DataError("empty reference speaker set", checkpoint)
    return np.stack(rows)
