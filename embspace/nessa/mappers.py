"""Per-side maps into the shared space: identity, affine, MLP, and the closed-form fits of the affine ones.

All closed-form fits take row-wise paired, already normalised inputs ``X (n, dx)`` and targets
``Y (n, dy)`` and return ``(weight (d_out, d_in), bias (d_out,))`` in ``nn.Linear`` layout.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "prelu": nn.PReLU, "gelu": nn.GELU}


class Affine(nn.Module):
    """``W x + b``; fitted in closed form (least squares, Procrustes, CCA) or by gradient."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim, bias=bias)

    def set_weights(self, weight: np.ndarray, bias: np.ndarray | None = None) -> None:
        """Load a closed-form solution."""
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
            if self.linear.bias is not None:
                self.linear.bias.copy_(torch.as_tensor(bias if bias is not None else np.zeros(len(weight)),
                                                       dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class MLP(nn.Module):
    """``in_dim -> hidden... -> out_dim``: Linear, [BatchNorm], activation, [dropout] per hidden layer,
    plus an optional linear skip ``out = MLP(x) + W x``.

    With ``zero_last`` the last layer starts at zero, so the untrained network equals its skip (which
    the trainer initialises with the least-squares map): training then learns a residual.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_dims: Sequence[int] = (1024, 1024), activation: str = "relu",
                 batchnorm: bool = True, dropout: float = 0.1, linear_skip: bool = True, zero_last: bool = False) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}' (one of {', '.join(ACTIVATIONS)})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden_dims:
            layers.append(nn.Linear(d, h, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            d = h
        last = nn.Linear(d, out_dim)
        if zero_last:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.body = nn.Sequential(*layers, last)
        self.skip = Affine(in_dim, out_dim, bias=False) if linear_skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + self.skip(x) if self.skip is not None else out


def fit_least_squares(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Ridge least squares ``min ||X W^T + b - Y||^2 + ridge * n * ||W||^2`` (bias unpenalised)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    gram = xc.T @ xc + ridge * len(x) * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ yc).T
    return w, my - w @ mx


def fit_procrustes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal ``W`` (equal dimensions) minimising ``||X W^T - Y||``: ``W = V U^T`` from ``X^T Y = U S V^T``."""
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"Procrustes needs equal dimensions, got {x.shape[1]} and {y.shape[1]}")
    u, _, vt = np.linalg.svd(np.asarray(x, np.float64).T @ np.asarray(y, np.float64))
    return vt.T @ u.T, np.zeros(x.shape[1])


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    """``C^(-1/2)`` of a symmetric positive definite matrix."""
    vals, vecs = np.linalg.eigh(c)
    return (vecs / np.sqrt(np.maximum(vals, 1e-12))) @ vecs.T


def fit_cca(x: np.ndarray, y: np.ndarray, dim: int, ridge: float = 1e-3
            ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Regularised CCA: projections of X and Y onto their first ``dim`` canonical directions.

    Returns ``((Wx, bx), (Wy, by))``; each canonical pair is scaled by the square root of its
    correlation so that weakly correlated directions count less in the cosine.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if not 1 <= dim <= min(x.shape[1], y.shape[1]):
        raise ValueError(f"shared_dim must be in [1, {min(x.shape[1], y.shape[1])}] for linear CCA, got {dim}")
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    n = len(x)
    cxx = xc.T @ xc / n + ridge * np.eye(x.shape[1])
    cyy = yc.T @ yc / n + ridge * np.eye(y.shape[1])
    kx, ky = _inv_sqrt(cxx), _inv_sqrt(cyy)
    u, s, vt = np.linalg.svd(kx @ (xc.T @ yc / n) @ ky)
    scale = np.sqrt(np.clip(s[:dim], 0.0, None))
    wx = (kx @ u[:, :dim] * scale).T
    wy = (ky @ vt[:dim].T * scale).T
    return (wx, -wx @ mx), (wy, -wy @ my)
