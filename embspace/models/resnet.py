"""ResNet speaker encoder over the 1 x freq x time feature image: BasicBlock (ResNet18/34) or Bottleneck
(ResNet50 and deeper) blocks."""

from __future__ import annotations

import torch
from torch import nn

from embspace.models.pooling import PooledEmbedding

RESNET_LAYERS: dict[str, list[int]] = {
    "resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3], "resnet50": [3, 4, 6, 3],
    "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3], "resnet221": [6, 16, 48, 3], "resnet293": [10, 20, 64, 3],
}


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN with an identity (or 1x1 conv + BN projection) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 conv (``planes``) -> 3x3 conv -> 1x1 conv (``4 * planes``), each with BN, and a shortcut."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1):
        super().__init__()
        out_ch = self.expansion * planes
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


BLOCKS: dict[str, type[nn.Module]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet encoder: ``(batch, frames, feat_dim)`` -> ``(batch, embed_dim)``.

    ``layers`` is four block counts or a name from ``RESNET_LAYERS`` ("resnet10" ... "resnet293").
    Stages have ``m_channels * (1, 2, 4, 8)`` channels (times 4 with ``block="bottleneck"``, as in
    ResNet50 and deeper); stages 2-4 halve frequency and time. The last
    stage's channels x frequency are flattened, pooled over time (TSTP by default) and projected by a
    linear layer ("seg1"); ``two_emb_layer`` adds ReLU + BN + a second linear layer. ``pooling_options``
    go to the pooling layer (see :func:`build_pooling`).
    """

    def __init__(
        self,
        feat_dim: int = 80,
        embed_dim: int = 256,
        m_channels: int = 32,
        layers: str | list[int] | tuple[int, ...] = (3, 4, 6, 3),
        pooling: str = "tstp",
        two_emb_layer: bool = False,
        block: str = "basic",
        pooling_options: dict | None = None,
    ):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"unknown block '{block}' (expected one of {sorted(BLOCKS)})")
        block_cls = BLOCKS[block]
        expansion = getattr(block_cls, "expansion", 1)
        if isinstance(layers, str):
            if layers not in RESNET_LAYERS:
                raise ValueError(f"unknown layers '{layers}' (expected one of {sorted(RESNET_LAYERS)})")
            layers = RESNET_LAYERS[layers]
        if len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"layers must be 4 positive block counts, got {list(layers)}")
        self.feat_dim, self.embed_dim = feat_dim, embed_dim
        self.stem = nn.Sequential(
            nn.Conv2d(1, m_channels, 3, padding=1, bias=False), nn.BatchNorm2d(m_channels), nn.ReLU()
        )
        stages: list[nn.Module] = []
        in_ch, freq = m_channels, feat_dim
        for i, n_blocks in enumerate(layers):
            planes, stride = m_channels * 2**i, (1 if i == 0 else 2)
            out_ch = planes * expansion
            blocks = [block_cls(in_ch, planes, stride)] + [block_cls(out_ch, planes) for _ in range(n_blocks - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch, freq = out_ch, (freq - 1) // stride + 1
        self.stages = nn.Sequential(*stages)
        self.embed = PooledEmbedding(pooling, in_ch * freq, embed_dim, two_emb_layer, pooling_options)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 3 or feats.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}) features, got {list(feats.shape)}")
        x = self.stages(self.stem(feats.transpose(1, 2).unsqueeze(1)))  # (B, C, F', T')
        return self.embed(x.flatten(1, 2))
