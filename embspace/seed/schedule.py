"""The DDPM noise schedule of SEED: scaled-linear betas over T = 1000 steps, forward noising."""

from __future__ import annotations

import torch


def scaled_linear_alphas_cumprod(num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """ᾱ_t = prod_{s<=t} (1 - β_s) with β_t = linspace(√β_start, √β_end, T)_t² (float64, shape [T])."""
    if num_steps < 1:
        raise ValueError("num_steps must be >= 1")
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_steps, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


class NoiseSchedule:
    """``q(x_t | x_0)``: ``x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε``; also the DDIM step for x0-predicting networks."""

    def __init__(self, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        self.num_steps = num_steps
        self.alphas_cumprod = scaled_linear_alphas_cumprod(num_steps, beta_start, beta_end)

    def _coef(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab = self.alphas_cumprod.to(like.device)[t.long()].to(like.dtype).unsqueeze(-1)
        return ab.sqrt(), (1.0 - ab).sqrt()

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Forward diffusion of ``x0`` [B, D] to the timesteps ``t`` [B]."""
        a, s = self._coef(t, x0)
        return a * x0 + s * noise

    def ddim_step(self, x_t: torch.Tensor, x0_pred: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor) -> torch.Tensor:
        """Deterministic DDIM (η = 0) move from ``t`` to ``t_prev`` given the predicted x0.

        ``t_prev < 0`` means the end of the chain (ᾱ = 1): the result is ``x0_pred`` itself.
        """
        a, s = self._coef(t, x_t)
        eps = (x_t - a * x0_pred) / s.clamp_min(1e-12)
        ab_prev = torch.where(t_prev >= 0, self.alphas_cumprod.to(x_t.device)[t_prev.clamp_min(0).long()],
                              torch.ones((), dtype=torch.float64, device=x_t.device)).to(x_t.dtype).unsqueeze(-1)
        return ab_prev.sqrt() * x0_pred + (1.0 - ab_prev).sqrt() * eps
