"""A generic, DDP-ready training loop with exact resumption.

The loop knows nothing about speakers: it trains a ``network`` whose ``forward(*batch)`` returns
``(loss, stats)``. Speaker encoders use it today; embedding-space models (SEED, NESSA) reuse it.

State saved in ``<exp>/models/checkpoint_latest.pt`` (every ``save_every_steps`` and at each epoch
end): network, optimizer (and fp16 grad scaler), sampler position, global step, the running sums of
the epoch's statistics and the RNG states of every rank. Learning rate and any per-step schedule
(e.g. the AAM margin) are pure functions of the step, so they are recomputed.
At each epoch end ``model_<epoch>.pt`` holds the exportable weights (``export_fn``).

Under DDP every rank runs the same number of steps (the sampler gives each rank its share of one
global batch list); DDP averages the gradients, and the loss and statistics that are logged are
averaged over ranks at every step, so what is logged is the global batch's mean.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from embspace.training import checkpoint as ckpt
from embspace.training.distributed import DistInfo, all_gather_object, all_reduce_mean, barrier
from embspace.utils.errors import DataError

log = logging.getLogger("embspace.train")


@dataclass
class TrainerOptions:
    epochs: int
    save_every_steps: int = 0  # 0: only at epoch ends
    log_every: int = 20
    grad_clip: float = 0.0  # 0: off
    amp: str = "off"  # off | bf16 | fp16 (CUDA only)
    keep_last: int = 0  # epoch model files kept; 0: all


class EpochHook(Protocol):
    """Called after every epoch (e.g. dev evaluation and early stopping); its state is checkpointed.

    Every rank calls it; under DDP it must return the same answer on every rank.
    """

    def __call__(self, epoch: int, network: torch.nn.Module) -> bool:
        """``epoch`` epochs are done; return True to stop training."""

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class Trainer:
    """Runs ``network`` over ``sampler``'s batches; resumes from the latest checkpoint in ``exp_dir``.

    Args:
        network: module whose forward returns ``(loss, stats: dict[str, float])``.
        optimizer: built over ``network.parameters()``.
        loader_fn: ``loader_fn(epoch, start_batch)`` -> iterable of batches (tuples of tensors).
        num_batches: local batches per epoch.
        lr_fn: learning rate at a global step.
        on_step: called before each step with ``(epoch, batch_in_epoch, num_batches)``; returns
            extra values to log (e.g. the margin it set).
        export_fn: what goes into ``model_<epoch>.pt`` (given the unwrapped network).
        epoch_hook: called after each epoch with the unwrapped network; returning True stops
            training (early stopping). Its ``state_dict()`` goes into the checkpoint.
    """

    def __init__(self, network: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 loader_fn: Callable[[int, int], Iterable], num_batches: int, lr_fn: Callable[[int], float],
                 exp_dir: str | os.PathLike, dist_info: DistInfo, options: TrainerOptions,
                 on_step: Callable[[int, int, int], dict] | None = None,
                 export_fn: Callable[[torch.nn.Module], dict] | None = None,
                 config: dict | None = None, epoch_hook: EpochHook | None = None) -> None:
        self.dist = dist_info
        self.network = network.to(dist_info.device)
        self.wrapped = (DistributedDataParallel(self.network, device_ids=[dist_info.device.index] if dist_info.device.type == "cuda" else None)
                        if dist_info.world_size > 1 else self.network)
        self.optimizer = optimizer
        self.loader_fn, self.num_batches, self.lr_fn = loader_fn, num_batches, lr_fn
        self.exp_dir = Path(exp_dir)
        self.model_dir = self.exp_dir / "models"
        self.opts = options
        self.on_step = on_step or (lambda e, b, n: {})
        self.export_fn = export_fn or (lambda net: {"model": net.state_dict()})
        self.config = config or {}
        self.epoch_hook = epoch_hook
        self.stopped = False  # set when the epoch hook asked to stop
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.epoch_sums: dict[str, float] = {}  # per-step means summed over this epoch's batches so far
        self.scaler = torch.amp.GradScaler("cuda") if options.amp == "fp16" else None

    @property
    def latest_path(self) -> Path:
        return self.model_dir / "checkpoint_latest.pt"

    # -- checkpointing -------------------------------------------------------------------
    def state(self, rng_states: list[dict]) -> dict:
        state = {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "global_step": self.global_step,
            "epoch_sums": dict(self.epoch_sums),
            "rng": rng_states,  # one entry per rank
            "world_size": self.dist.world_size,
            "config": self.config,
        }
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        if self.epoch_hook is not None:
            state["epoch_hook"] = self.epoch_hook.state_dict()
            state["stopped"] = self.stopped
        return state

    def save_latest(self) -> None:
        """Collective: every rank must call it (each contributes its RNG state)."""
        rng_states = all_gather_object(ckpt.rng_state())
        if self.dist.is_main:
            ckpt.save(self.state(rng_states), self.latest_path)
        barrier()

    def resume(self) -> bool:
        """Load ``checkpoint_latest.pt`` if present. Returns True when training resumed."""
        if not self.latest_path.is_file():
            return False
        state = ckpt.load(self.latest_path, map_location=self.dist.device)
        if state.get("config", {}) != self.config:
            changed = sorted(k for k in set(state.get("config", {})) | set(self.config)
                             if state.get("config", {}).get(k) != self.config.get(k))
            raise DataError(f"this checkpoint belongs to a run with another configuration or training data "
                            f"(differs in: {', '.join(changed)}); resuming it would mix the two. Use another "
                            f"experiment folder, or remove {self.model_dir} to start over", self.latest_path)
        if state.get("world_size", 1) != self.dist.world_size:
            raise RuntimeError(f"{self.latest_path}: saved with world size {state.get('world_size')}, "
                               f"now {self.dist.world_size}; the batch order would differ")
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.batch_in_epoch, self.global_step = state["epoch"], state["batch_in_epoch"], state["global_step"]
        self.epoch_sums = dict(state.get("epoch_sums", {}))
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        if self.epoch_hook is not None and "epoch_hook" in state:
            self.epoch_hook.load_state_dict(state["epoch_hook"])
            self.stopped = bool(state.get("stopped", False))
        rng = state["rng"]
        ckpt.set_rng_state(rng[self.dist.rank] if isinstance(rng, list) else rng)
        self._log(f"resumed from {self.latest_path} at epoch {self.epoch}, batch {self.batch_in_epoch}, step {self.global_step}")
        return True

    def save_epoch_model(self, epoch: int) -> None:
        if not self.dist.is_main:
            return
        payload = dict(self.export_fn(self.network))
        payload.update(epoch=epoch, config=self.config)
        ckpt.save(payload, self.model_dir / f"model_{epoch}.pt")
        if self.opts.keep_last > 0:
            for e, p in ckpt.epoch_models(self.model_dir)[:-self.opts.keep_last]:
                p.unlink(missing_ok=True)

    # -- loop ------------------------------------------------------------------------------
    def _log(self, msg: str) -> None:
        if self.dist.is_main:
            log.info(msg)

    def _set_lr(self) -> float:
        lr = self.lr_fn(self.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _mean_over_ranks(self, loss: torch.Tensor, stats: dict) -> dict[str, float]:
        """Loss and statistics of this step averaged over ranks (one small all-reduce)."""
        names = ["loss", *sorted(stats)]
        values = [loss.detach()] + [torch.as_tensor(stats[k]).detach() for k in names[1:]]
        vec = torch.stack([v.to(self.dist.device, torch.float32).reshape(()) for v in values])
        return dict(zip(names, all_reduce_mean(vec).tolist()))

    def _step(self, batch: tuple) -> dict[str, float]:
        batch = tuple(t.to(self.dist.device, non_blocking=True) if torch.is_tensor(t) else t for t in batch)
        amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.opts.amp)
        with torch.autocast(self.dist.device.type, dtype=amp_dtype, enabled=amp_dtype is not None and self.dist.device.type == "cuda"):
            loss, stats = self.wrapped(*batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        means = self._mean_over_ranks(loss, stats)
        if not math.isfinite(means["loss"]):  # every rank sees the same mean, so all stop together
            raise FloatingPointError(f"loss is {means['loss']} at step {self.global_step} (mean over ranks)")
        if self.opts.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.opts.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return means

    def fit(self) -> None:
        """Train until ``options.epochs`` are done or the epoch hook stops it (no-op when a finished run is resumed)."""
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self.resume()
        self.wrapped.train()
        while self.epoch < self.opts.epochs and not self.stopped:
            epoch, start = self.epoch, self.batch_in_epoch
            t0 = time.time()
            bar = tqdm(total=self.num_batches, initial=start, desc=f"epoch {epoch + 1}/{self.opts.epochs}",
                       disable=not self.dist.is_main, file=sys.stderr, mininterval=1.0 if sys.stderr.isatty() else 30.0)
            for batch in self.loader_fn(epoch, start):
                extra = self.on_step(epoch, self.batch_in_epoch, self.num_batches)
                lr = self._set_lr()
                stats = self._step(batch)
                self.global_step += 1
                self.batch_in_epoch += 1
                for k, v in stats.items():
                    self.epoch_sums[k] = self.epoch_sums.get(k, 0.0) + v
                bar.update(1)
                if self.opts.log_every and self.global_step % self.opts.log_every == 0:
                    shown = {k: round(v, 4) for k, v in {**stats, **extra}.items()}
                    self._log(f"epoch {epoch + 1} batch {self.batch_in_epoch}/{self.num_batches} step {self.global_step} lr {lr:.3g} {json.dumps(shown)}")
                if self.opts.save_every_steps and self.global_step % self.opts.save_every_steps == 0 and self.batch_in_epoch < self.num_batches:
                    self.save_latest()
            bar.close()
            means = {k: v / max(self.batch_in_epoch, 1) for k, v in sorted(self.epoch_sums.items())}
            self._log(f"epoch {epoch + 1} done in {time.time() - t0:.1f}s: " + json.dumps({k: round(v, 4) for k, v in means.items()}))
            self.epoch, self.batch_in_epoch, self.epoch_sums = epoch + 1, 0, {}
            self.save_epoch_model(self.epoch)
            if self.epoch_hook is not None:
                self.stopped = bool(self.epoch_hook(self.epoch, self.network))
                self.wrapped.train()
                if self.stopped:
                    self._log(f"stopped after epoch {self.epoch} (epoch hook)")
            self.save_latest()
