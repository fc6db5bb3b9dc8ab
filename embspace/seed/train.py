"""The training objective of SEED, as a module for :class:`embspace.training.trainer.Trainer`.

For a pair (input embedding y0, clean target x0): t ~ U[t_min, t_max), ε ~ N(0, I),
y_t = √ᾱ_t y0 + √(1-ᾱ_t) ε, loss = mean |g(y_t, t) - x0| (x0-prediction, L1). The random draws
come from torch's global generator, whose state the trainer checkpoints (exact resume).
"""

from __future__ import annotations

import torch
from torch import nn

from embspace.seed.config import SeedConfig
from embspace.seed.model import SeedMLP
from embspace.seed.schedule import NoiseSchedule


class SeedObjective(nn.Module):
    """``forward(inputs, targets) -> (loss, stats)``."""

    def __init__(self, model: SeedMLP, schedule: NoiseSchedule, t_min: int = 0, t_max: int = 1000) -> None:
        super().__init__()
        self.model, self.schedule = model, schedule
        self.t_min, self.t_max = t_min, t_max

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        t = torch.randint(self.t_min, self.t_max, (inputs.shape[0],), device=inputs.device)
        noise = torch.randn_like(inputs)
        pred = self.model(self.schedule.add_noise(inputs, noise, t), t)
        loss = (pred - targets).abs().mean()
        with torch.no_grad():
            identity = (inputs - targets).abs().mean()  # the loss of returning the input unchanged
        return loss, {"input_l1": identity}


def build_objective(cfg: SeedConfig, dim: int) -> SeedObjective:
    """The network, schedule and training-time range of ``cfg`` for ``dim``-dimensional embeddings."""
    m, d = cfg.model, cfg.diffusion
    model = SeedMLP(dim, m.width_mult, m.num_blocks, m.dropout, m.skip)
    schedule = NoiseSchedule(d.num_steps, d.beta_start, d.beta_end)
    return SeedObjective(model, schedule, d.t_min, d.t_max)
