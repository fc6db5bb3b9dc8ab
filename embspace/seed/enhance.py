"""Inference: regenerate embeddings through the trained denoiser.

Single step (the paper's setting): normalise, noise to ``t*`` with fresh Gaussian noise, one
network evaluation, keep the predicted x0 (clamped to ±3√D). Optionally average the outputs of
``K`` noise draws, or run a deterministic DDIM chain from ``t*`` to 0 in ``ddim_steps`` steps.

:func:`keyed_noise` draws each embedding's noise from a generator seeded by ``(seed, key)``, so
an enhanced table does not depend on job split or order (beyond float rounding, which can differ
between batch sizes).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import torch

from embspace.seed.model import SeedMLP
from embspace.seed.norm import for_inference
from embspace.seed.schedule import NoiseSchedule


def keyed_noise(keys: Sequence[str], seed: int, num_draws: int, dim: int) -> np.ndarray:
    """Standard normal noise ``[num_draws, len(keys), dim]`` (float32), a function of ``(seed, key)`` only."""
    out = np.empty((num_draws, len(keys), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
        out[:, i] = np.random.default_rng([seed, h]).standard_normal((num_draws, dim), dtype=np.float32)
    return out


def ddim_timesteps(t_star: int, steps: int) -> list[int]:
    """``steps`` decreasing timesteps from ``t_star`` (inclusive) towards 0, evenly spaced."""
    if steps <= 1:
        return [t_star]
    return sorted({int(round(t)) for t in np.linspace(t_star, 0, steps, endpoint=False)}, reverse=True)


class Enhancer:
    """``enhancer(x, noise) -> x0`` for a trained :class:`SeedMLP` and its schedule."""

    def __init__(self, model: SeedMLP, schedule: NoiseSchedule, normalisation: str, clip_sample: bool = True) -> None:
        self.model = model.eval()
        self.schedule = schedule
        self.normalisation = normalisation
        self.clip = 3.0 * model.dim ** 0.5 if clip_sample else None

    def _predict(self, x_t: torch.Tensor, t: int) -> torch.Tensor:
        x0 = self.model(x_t, torch.tensor(t, device=x_t.device))  # one timestep: its embedding is computed once
        return x0.clamp(-self.clip, self.clip) if self.clip is not None else x0

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, noise: torch.Tensor, t_star: int = 50, ddim_steps: int = 0) -> torch.Tensor:
        """Enhance ``x`` [B, D] with ``noise`` [K, B, D] (K draws, averaged); returns [B, D]."""
        if noise.dim() != 3 or noise.shape[1:] != x.shape:
            raise ValueError(f"noise must be [K, {x.shape[0]}, {x.shape[1]}], got {tuple(noise.shape)}")
        x = for_inference(x, self.normalisation)
        ts = ddim_timesteps(t_star, ddim_steps)
        t0 = torch.full((x.shape[0],), ts[0], dtype=torch.long, device=x.device)
        out = torch.zeros_like(x)
        for k in range(noise.shape[0]):
            x_t = self.schedule.add_noise(x, noise[k], t0)
            for i, t in enumerate(ts):
                x0 = self._predict(x_t, t)
                if i + 1 < len(ts):
                    t_prev = torch.full_like(t0, ts[i + 1])
                    x_t = self.schedule.ddim_step(x_t, x0, torch.full_like(t0, t), t_prev)
            out += x0
        return out / noise.shape[0]


def enhance_table(enhancer: Enhancer, keys: Sequence[str], emb: np.ndarray, seed: int, t_star: int = 50,
                  num_draws: int = 1, ddim_steps: int = 0, batch_size: int = 4096,
                  device: torch.device | str = "cpu") -> np.ndarray:
    """Enhanced copy of an embedding table (rows in the order of ``keys``), float32."""
    out = np.empty_like(emb, dtype=np.float32)
    for s in range(0, len(keys), batch_size):
        part = slice(s, s + batch_size)
        x = torch.from_numpy(np.ascontiguousarray(emb[part], dtype=np.float32)).to(device)
        noise = torch.from_numpy(keyed_noise(keys[part], seed, num_draws, emb.shape[1])).to(device)
        out[part] = enhancer(x, noise, t_star, ddim_steps).float().cpu().numpy()
    return out
