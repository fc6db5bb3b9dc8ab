"""Process-group setup that works the same under plain ``python`` and under ``torchrun``."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(requested: str, local_rank: int) -> torch.device:
    """``auto`` -> the local GPU when CUDA is available, else CPU. Honours CUDA_VISIBLE_DEVICES."""
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA device is visible")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; no-op elsewhere).

    torchrun starts each worker in a session of its own, so a SIGKILL of torchrun (or of its process
    group: OOM killer, ``kill -9``, a killed recipe) would leave the workers training on, and writing
    checkpoints, next to the rerun that resumes from them.
    """
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died while prctl was being set
        os._exit(1)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); NCCL on GPU, gloo on CPU.

    Workers started by torchrun's agent die with it (:func:`die_with_parent`).
    """
    if "TORCHELASTIC_RUN_ID" in os.environ:
        die_with_parent()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world_size, device=dev)


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean over ranks (identity when not distributed). ``value`` must be on the process's device
    (a CUDA tensor under NCCL)."""
    if is_distributed():
        value = value.clone()
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value


def all_gather_object(obj: Any) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (``[obj]`` when not distributed)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def cleanup() -> None:
    if is_distributed():
        dist.destroy_process_group()
