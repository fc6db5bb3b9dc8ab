"""Embedding normalisation before diffusion, one rule for training and inference.

* ``sqrt_d`` (default): every embedding, training input, training target and inference input
  alike, is length-normalised and scaled to norm √D, the scale the unit-variance diffusion noise
  is made for.
* ``none``: raw extractor outputs everywhere.
* ``official``: what the authors' code does (raw in training, l2 · √D at inference). Kept to
  reproduce it; it is inconsistent whenever the extractor's norms are far from √D.
"""

from __future__ import annotations

import torch

MODES = ("sqrt_d", "none", "official")


def scale_to_sqrt_d(x: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` scaled to Euclidean norm √D."""
    return x * (x.shape[-1] ** 0.5 / x.norm(dim=-1, keepdim=True).clamp_min(1e-12))


def for_training(x: torch.Tensor, mode: str) -> torch.Tensor:
    """The transform applied to training inputs and targets."""
    if mode not in MODES:
        raise ValueError(f"unknown normalisation {mode!r}")
    return scale_to_sqrt_d(x) if mode == "sqrt_d" else x


def for_inference(x: torch.Tensor, mode: str) -> torch.Tensor:
    """The transform applied to embeddings before enhancement."""
    if mode not in MODES:
        raise ValueError(f"unknown normalisation {mode!r}")
    return x if mode == "none" else scale_to_sqrt_d(x)
