"""ECAPA-TDNN (Desplanques et al., Interspeech 2020)."""

from __future__ import annotations

import torch
from torch import nn

from embspace.models.pooling import build_pooling


class ConvReluBN(nn.Sequential):
    """Conv1d (length-preserving padding) -> ReLU -> BatchNorm1d."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, dilation: int = 1):
        super().__init__(
            nn.Conv1d(in_ch, out_ch, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2),
            nn.ReLU(),
            nn.BatchNorm1d(out_ch),
        )


class Res2Conv(nn.Module):
    """Res2Net dilated convolution: channel groups processed hierarchically, the first one passed through."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, scale: int):
        super().__init__()
        if scale < 2 or channels % scale:
            raise ValueError(f"channels ({channels}) must be divisible by scale ({scale}) >= 2")
        self.scale = scale
        width = channels // scale
        self.convs = nn.ModuleList(ConvReluBN(width, width, kernel_size, dilation) for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chunks = torch.chunk(x, self.scale, dim=1)
        out = [chunks[0]]
        y = chunks[0]
        for i, conv in enumerate(self.convs):  # TorchScript iterates a ModuleList only by itself / enumerate
            y = conv(chunks[i + 1] if i == 0 else chunks[i + 1] + y)
            out.append(y)
        return torch.cat(out, dim=1)


class SqueezeExcite(nn.Module):
    """Squeeze-excitation over channels using the utterance mean."""

    def __init__(self, channels: int, bottleneck: int = 128):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Conv1d(channels, bottleneck, 1), nn.ReLU(), nn.Conv1d(bottleneck, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=-1, keepdim=True))


class SERes2Block(nn.Module):
    """1x1 conv -> Res2 dilated conv -> 1x1 conv -> SE, with a residual connection."""

    def __init__(self, channels: int, dilation: int, scale: int = 8, kernel_size: int = 3, se_channels: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            ConvReluBN(channels, channels, 1),
            Res2Conv(channels, kernel_size, dilation, scale),
            ConvReluBN(channels, channels, 1),
            SqueezeExcite(channels, se_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ECAPATDNN(nn.Module):
    """ECAPA-TDNN encoder: ``(batch, frames, feat_dim)`` -> ``(batch, embed_dim)``.

    Conv+ReLU+BN (k=5), three SE-Res2Blocks (dilation 2, 3, 4), multi-layer feature aggregation
    (concatenated block outputs -> 1x1 Conv + ReLU to ``mfa_channels``, default ``3 * channels``, i.e. the
    paper's 1536 for C=512; the paper's C=1024 model (14.7M parameters) sets ``mfa_channels=1536``),
    attentive statistics pooling, BN, FC, BN. With ``sum_inputs`` (paper, section 3.3) each block's input
    is the sum of the outputs of the first conv and all preceding blocks; without it blocks are chained.
    ``pooling_options`` go to the pooling layer (see :func:`build_pooling`); ``emb_bn=False`` drops the
    final BN (WeSpeaker's ECAPA_TDNN without ``emb_bn``).
    """

    def __init__(
        self,
        feat_dim: int = 80,
        embed_dim: int = 192,
        channels: int = 512,
        scale: int = 8,
        mfa_channels: int | None = None,
        se_channels: int = 128,
        pooling: str = "asp",
        sum_inputs: bool = True,
        pooling_options: dict | None = None,
        emb_bn: bool = True,
    ):
        super().__init__()
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.sum_inputs = sum_inputs
        mfa_channels = mfa_channels or 3 * channels
        self.conv1 = ConvReluBN(feat_dim, channels, kernel_size=5)
        self.blocks = nn.ModuleList(SERes2Block(channels, d, scale, se_channels=se_channels) for d in (2, 3, 4))
        self.mfa = nn.Sequential(nn.Conv1d(3 * channels, mfa_channels, 1), nn.ReLU())
        self.pool = build_pooling(pooling, mfa_channels, pooling_options)
        self.bn_pool = nn.BatchNorm1d(self.pool.out_dim)
        self.fc = nn.Linear(self.pool.out_dim, embed_dim)
        self.bn_emb: nn.Module = nn.BatchNorm1d(embed_dim) if emb_bn else nn.Identity()

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 3 or feats.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}) features, got {list(feats.shape)}")
        x = self.conv1(feats.transpose(1, 2))
        total = x
        outs = []
        for block in self.blocks:
            x = block(total if self.sum_inputs else x)
            outs.append(x)
            if self.sum_inputs:
                total = total + x
        x = self.mfa(torch.cat(outs, dim=1))
        return self.bn_emb(self.fc(self.bn_pool(self.pool(x))))
