"""Margin and learning-rate schedules as pure functions of training position (resumption just recomputes them).

Epochs are 0-based: position ``epoch + iteration / iters_per_epoch`` is the number of epochs completed.
"""

from __future__ import annotations

import math
from typing import Protocol

from torch.optim import Optimizer

_EXP_FLOOR = 1e-3  # the exponential ramp is 1 - _EXP_FLOOR**t, renormalised to reach exactly 1 at t = 1


class HasMargin(Protocol):
    def set_margin(self, margin: float) -> None: ...


def _position(epoch: int, iteration: int, iters_per_epoch: int) -> float:
    if iters_per_epoch < 1 or epoch < 0 or iteration < 0:
        raise ValueError(f"bad position: epoch={epoch} iteration={iteration} iters_per_epoch={iters_per_epoch}")
    return epoch + iteration / iters_per_epoch


class MarginScheduler:
    """WeSpeaker-style margin ramp: ``initial_margin`` before ``increase_start_epoch``, ``final_margin`` from
    ``fix_start_epoch`` on, and in between a linear or exponential (fast early rise) ramp per iteration.
    """

    def __init__(
        self,
        final_margin: float,
        increase_start_epoch: float,
        fix_start_epoch: float,
        increase_type: str = "exp",
        initial_margin: float = 0.0,
    ):
        if increase_type not in ("exp", "linear"):
            raise ValueError(f"unknown increase_type '{increase_type}' (expected 'exp' or 'linear')")
        if not 0 <= increase_start_epoch <= fix_start_epoch:
            raise ValueError(
                f"need 0 <= increase_start_epoch ({increase_start_epoch}) <= fix_start_epoch ({fix_start_epoch})"
            )
        self.final_margin, self.initial_margin = float(final_margin), float(initial_margin)
        self.increase_start_epoch, self.fix_start_epoch = increase_start_epoch, fix_start_epoch
        self.increase_type = increase_type

    def ratio(self, position: float) -> float:
        """Fraction of the way from initial to final margin at ``position`` (in epochs completed)."""
        if position >= self.fix_start_epoch:
            return 1.0
        if position <= self.increase_start_epoch:
            return 0.0
        t = (position - self.increase_start_epoch) / (self.fix_start_epoch - self.increase_start_epoch)
        if self.increase_type == "linear":
            return t
        return (1.0 - _EXP_FLOOR**t) / (1.0 - _EXP_FLOOR)

    def margin_at(self, epoch: int, iteration: int = 0, iters_per_epoch: int = 1) -> float:
        """Margin for ``iteration`` (0-based) of 0-based ``epoch``."""
        r = self.ratio(_position(epoch, iteration, iters_per_epoch))
        return self.initial_margin + (self.final_margin - self.initial_margin) * r

    def step(self, head: HasMargin, epoch: int, iteration: int, iters_per_epoch: int) -> float:
        """Set ``head``'s margin for this position and return it."""
        margin = self.margin_at(epoch, iteration, iters_per_epoch)
        head.set_margin(margin)
        return margin


class WarmupExpDecay:
    """Learning rate: linear warm-up from 0 to ``initial_lr`` over ``warmup_epochs``, then exponential decay
    reaching ``final_lr`` at the end of ``total_epochs`` (and held there after).

    ``step(global_step)`` writes ``lr * group.get("lr_scale", 1.0)`` into every param group of ``optimizer``.
    """

    def __init__(
        self,
        initial_lr: float,
        final_lr: float,
        warmup_epochs: float,
        total_epochs: float,
        iters_per_epoch: int,
        optimizer: Optimizer | None = None,
    ):
        if initial_lr <= 0 or final_lr <= 0:
            raise ValueError(f"learning rates must be > 0, got initial {initial_lr}, final {final_lr}")
        if iters_per_epoch < 1 or not 0 <= warmup_epochs <= total_epochs or total_epochs <= 0:
            raise ValueError(
                f"need iters_per_epoch >= 1 and 0 <= warmup_epochs <= total_epochs > 0, got "
                f"{iters_per_epoch}, {warmup_epochs}, {total_epochs}"
            )
        self.initial_lr, self.final_lr = float(initial_lr), float(final_lr)
        self.warmup_steps = round(warmup_epochs * iters_per_epoch)
        self.total_steps = round(total_epochs * iters_per_epoch)
        self.optimizer = optimizer

    def lr_at(self, global_step: int) -> float:
        """Learning rate for 0-based ``global_step`` (= epoch * iters_per_epoch + iteration)."""
        if global_step < 0:
            raise ValueError(f"global_step must be >= 0, got {global_step}")
        if global_step < self.warmup_steps:
            return self.initial_lr * global_step / self.warmup_steps
        decay_steps = self.total_steps - self.warmup_steps
        if global_step >= self.total_steps or decay_steps <= 0:
            return self.final_lr
        t = (global_step - self.warmup_steps) / decay_steps
        return self.initial_lr * math.exp(t * math.log(self.final_lr / self.initial_lr))

    def step(self, global_step: int) -> float:
        """Set the wrapped optimizer's learning rates for ``global_step`` and return the base rate."""
        lr = self.lr_at(global_step)
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
        return lr
