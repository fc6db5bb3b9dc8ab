"""x-vector TDNN (Snyder et al. 2018) with frame layers as dilated Conv1d."""

from __future__ import annotations

import torch
from torch import nn

from embspace.models.pooling import PooledEmbedding

# (kernel size, dilation) of the five frame-level layers: contexts [-2,2], {-2,0,2}, {-3,0,3}, {0}, {0}.
FRAME_LAYERS: tuple[tuple[int, int], ...] = ((5, 1), (3, 2), (3, 3), (1, 1), (1, 1))
MIN_FRAMES = 1 + sum((k - 1) * d for k, d in FRAME_LAYERS)  # 15: receptive field of the unpadded TDNN


class XVector(nn.Module):
    """x-vector encoder: ``(batch, frames, feat_dim)`` -> ``(batch, embed_dim)``.

    Frame layers are Conv1d + ReLU + BatchNorm without padding, so at least ``MIN_FRAMES`` frames are needed.
    The embedding is the affine output of the first segment layer ("segment6"), or with ``two_emb_layer``
    of a second affine layer after ReLU + BatchNorm.
    """

    def __init__(
        self,
        feat_dim: int = 80,
        embed_dim: int = 512,
        channels: int = 512,
        hidden: int = 1500,
        pooling: str = "tstp",
        two_emb_layer: bool = False,
    ):
        super().__init__()
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.min_frames = MIN_FRAMES  # an attribute: TorchScript cannot read module-level numbers
        layers: list[nn.Module] = []
        in_ch = feat_dim
        for i, (k, d) in enumerate(FRAME_LAYERS):
            out_ch = hidden if i == len(FRAME_LAYERS) - 1 else channels
            layers += [nn.Conv1d(in_ch, out_ch, kernel_size=k, dilation=d), nn.ReLU(), nn.BatchNorm1d(out_ch)]
            in_ch = out_ch
        self.frame = nn.Sequential(*layers)
        self.embed = PooledEmbedding(pooling, hidden, embed_dim, two_emb_layer)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 3 or feats.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}) features, got {list(feats.shape)}")
        if feats.shape[1] < self.min_frames:
            raise ValueError(f"x-vector needs at least {self.min_frames} frames, got {feats.shape[1]}")
        x = self.frame(feats.transpose(1, 2))
        return self.embed(x)
