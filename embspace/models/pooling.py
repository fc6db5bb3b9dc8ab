"""Temporal pooling layers: frame-level ``(batch, channels, frames)`` -> utterance-level ``(batch, out_dim)``.

Statistics are computed in float32 even under autocast (variance of half-precision activations is fragile).
``stats="biased"`` (default): biased variance clamped at 1e-5; ``stats="unbiased"``: unbiased variance
+ 1e-7 (attentive variance clamped at 1e-7), as WeSpeaker computes them (imported models).
"""

from __future__ import annotations

import torch
from torch import nn

STATS = ("biased", "unbiased")
#: smallest variance of each statistics style (biased: clamp of the variance; unbiased: added to it in TSTP,
#: clamp of ASP's attentive variance)
VAR_FLOOR = {"biased": 1e-5, "unbiased": 1e-7}


def _check_stats(stats: str) -> str:
    if stats not in STATS:
        raise ValueError(f"unknown stats '{stats}' (expected one of {list(STATS)})")
    return stats


def _std(x: torch.Tensor, stats: str, floor: float, keepdim: bool = False) -> torch.Tensor:
    """Standard deviation over the last (time) axis in the chosen statistics style (``floor``: its
    ``VAR_FLOOR``, passed in so that TorchScript sees no module-level float)."""
    if stats == "unbiased":
        return (x.var(dim=-1, keepdim=keepdim) + floor).sqrt()
    return x.var(dim=-1, keepdim=keepdim, unbiased=False).clamp(min=floor).sqrt()


class TSTP(nn.Module):
    """Temporal statistics pooling: concatenated mean and standard deviation over time (x-vector style)."""

    def __init__(self, in_dim: int, stats: str = "biased"):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = 2 * in_dim
        self.stats = _check_stats(stats)
        self.var_floor = VAR_FLOOR[stats]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        return torch.cat([x.mean(dim=-1), _std(x, self.stats, self.var_floor)], dim=-1)


class ASP(nn.Module):
    """Attentive statistics pooling with channel- and context-dependent attention (ECAPA-TDNN).

    With ``global_context`` the attention network also sees the utterance mean and std of every channel.
    ``attention="relu_bn_tanh"`` (default): Conv -> ReLU -> BN -> Tanh -> Conv; ``"tanh"``: Conv -> Tanh ->
    Conv (WeSpeaker's ASTP).
    """

    def __init__(self, in_dim: int, attention_channels: int = 128, global_context: bool = True,
                 attention: str = "relu_bn_tanh", stats: str = "biased"):
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = 2 * in_dim
        self.global_context = global_context
        self.stats = _check_stats(stats)
        self.var_floor = VAR_FLOOR[stats]
        att_in = 3 * in_dim if global_context else in_dim
        if attention == "relu_bn_tanh":
            hidden = [nn.ReLU(), nn.BatchNorm1d(attention_channels), nn.Tanh()]
        elif attention == "tanh":
            hidden = [nn.Tanh()]
        else:
            raise ValueError(f"unknown attention '{attention}' (expected 'relu_bn_tanh' or 'tanh')")
        self.attention = nn.Sequential(
            nn.Conv1d(att_in, attention_channels, kernel_size=1),
            *hidden,
            nn.Conv1d(attention_channels, in_dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.global_context:
            frames = x.shape[-1]
            mean = x.mean(dim=-1, keepdim=True)
            std = _std(x, self.stats, self.var_floor, keepdim=True)
            att_in = torch.cat([x, mean.expand(-1, -1, frames), std.expand(-1, -1, frames)], dim=1)
        else:
            att_in = x
        w = torch.softmax(self.attention(att_in).float(), dim=-1)
        mean = (w * x).sum(dim=-1)
        var = (w * x * x).sum(dim=-1) - mean * mean
        std = var.clamp(min=self.var_floor).sqrt()
        return torch.cat([mean, std], dim=-1)


def build_pooling(name: str, in_dim: int, options: dict | None = None) -> nn.Module:
    """Return a pooling layer by name: ``"tstp"`` or ``"asp"``; it has ``out_dim``.

    ``options`` are the layer's keyword arguments (e.g. ``{"stats": "unbiased", "attention": "tanh"}``).
    """
    options = dict(options or {})
    if name == "tstp":
        return TSTP(in_dim, **options)
    if name == "asp":
        return ASP(in_dim, **options)
    raise ValueError(f"unknown pooling '{name}' (expected 'tstp' or 'asp')")


class PooledEmbedding(nn.Module):
    """Pooling over time then the segment layer(s): ``(B, C, T) -> (B, embed_dim)``.

    ``two_emb_layer`` adds ReLU + BatchNorm + a second linear layer (x-vector's "segment7").
    """

    def __init__(self, pooling: str, in_dim: int, embed_dim: int, two_emb_layer: bool = False,
                 pooling_options: dict | None = None) -> None:
        super().__init__()
        self.pool = build_pooling(pooling, in_dim, pooling_options)
        self.seg1 = nn.Linear(self.pool.out_dim, embed_dim)
        self.seg2: nn.Module | None = None
        if two_emb_layer:
            self.seg2 = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(embed_dim), nn.Linear(embed_dim, embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.seg1(self.pool(x))
        return self.seg2(emb) if self.seg2 is not None else emb
