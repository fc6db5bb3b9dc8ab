"""The SEED denoiser: a residual MLP over embeddings with a sinusoidal timestep embedding.

Input D → width W (= ``width_mult`` · D), ``num_blocks`` residual blocks of width W, each
``x + Lin(Drop(SiLU(LN(Lin(SiLU(LN(x))) + Lin(SiLU(e_t))))))`` with the last linear layer
zero-initialised, and a head LN → SiLU → Lin(W → D), zero-initialised as well: at
initialisation the network outputs 0 and every block is the identity. The network predicts x0.

``skip=True`` (not in the paper) adds the noisy input to the output, ``x0 = x_t + g(x_t, t)``: the
network then starts as the identity and learns a correction, which on small training sets keeps
what the extractor knows about unseen speakers (see egs/mini/v1/conf/seed_mini.yaml).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [cos ‖ sin] of integer or real timesteps ``t`` [B] → [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float().unsqueeze(-1) * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class ResBlock(nn.Module):
    """Pre-norm residual fully connected block conditioned on the timestep embedding."""

    def __init__(self, width: int, temb_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.temb = nn.Linear(temb_dim, width)
        self.norm2 = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(width, width)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.fc1(nn.functional.silu(self.norm1(x)))
        h = h + self.temb(nn.functional.silu(temb))
        h = self.fc2(self.drop(nn.functional.silu(self.norm2(h))))
        return x + h


class SeedMLP(nn.Module):
    """x0-predicting denoiser ``g(x_t, t)`` for D-dimensional embeddings."""

    def __init__(self, dim: int, width_mult: int = 2, num_blocks: int = 3, dropout: float = 0.0,
                 skip: bool = False) -> None:
        super().__init__()
        if dim < 2 or width_mult < 1 or num_blocks < 0:
            raise ValueError(f"bad SeedMLP shape: dim={dim}, width_mult={width_mult}, num_blocks={num_blocks}")
        width = width_mult * dim
        self.dim, self.width, self.skip = dim, width, skip
        self.input = nn.Linear(dim, width)
        self.time_mlp = nn.Sequential(nn.Linear(width, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(ResBlock(width, dim, dropout) for _ in range(num_blocks))
        self.out_norm = nn.LayerNorm(width, eps=1e-6)
        self.out = nn.Linear(width, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t`` [B, D], ``t`` [B] (or a 0-dim tensor: one timestep for all rows, whose
        embedding is then computed once) → predicted x0 [B, D]. A batch of one works."""
        temb = self.time_mlp(timestep_embedding(t.reshape(-1), self.width))
        h = self.input(x_t)
        for block in self.blocks:
            h = block(h, temb)
        out = self.out(nn.functional.silu(self.out_norm(h)))
        return x_t + out if self.skip else out
