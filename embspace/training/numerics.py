"""Portable numerics: pin the CPU code paths of MKL, oneDNN and ATen so that x86 machines agree.

By default each library picks the widest instruction set the CPU has (AVX-512, AMX...), and
kernels for different instruction sets add numbers in different orders: two machines of "the same
kind" train different encoders from the same commit. With ``portable_numerics: true`` in a training
config the trainer sets, before torch is imported in the worker:

* ``MKL_CBWR=AVX2`` (MKL's conditional numerical reproducibility at the AVX2 code path),
* ``DNNL_MAX_CPU_ISA=AVX2`` (oneDNN, which runs the convolutions, capped at AVX2),
* ``ATEN_CPU_CAPABILITY=avx2`` (PyTorch's own vectorised kernels at AVX2),
* ``MKL_DYNAMIC=FALSE`` and ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` = the fixed thread count.

Results then depend on the thread count, so the option needs ``--num-threads N`` (N > 0).
This module imports no torch: it must run before torch does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

#: the environment that pins the instruction-set dispatch (the thread variables are added per run)
PORTABLE_ENV: dict[str, str] = {"MKL_CBWR": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2",
                                "MKL_DYNAMIC": "FALSE"}
CONFIG_KEY = "portable_numerics"


def wants_portable(cfg: Mapping[str, Any]) -> bool:
    """The config's ``portable_numerics`` (default false); ValueError unless a boolean."""
    value = cfg.get(CONFIG_KEY, False)
    if not isinstance(value, bool):
        raise ValueError(f"{CONFIG_KEY}: true or false, got {value!r}")
    return value


def portable_env(num_threads: int) -> dict[str, str]:
    """Variables that pin the code paths and the thread count (``num_threads`` > 0)."""
    if num_threads < 1:
        raise ValueError(f"{CONFIG_KEY} needs a fixed thread count (--num-threads N, N >= 1); "
                         "results depend on it")
    n = str(num_threads)
    return {**PORTABLE_ENV, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def apply_portable_env(num_threads: int, environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set :func:`portable_env` in ``environ`` (``os.environ``); returns what was set.

    RuntimeError when torch is already imported in this process with other settings: MKL, oneDNN
    and ATen read them once, so setting them later would silently change nothing.
    """
    environ = os.environ if environ is None else environ
    env = portable_env(num_threads)
    if environ is os.environ and "torch" in sys.modules and any(os.environ.get(k) != v for k, v in env.items()):
        raise RuntimeError(f"{CONFIG_KEY}: torch was imported before the environment could be set; "
                           "start training as `python -m embspace.bin.train` (or torchrun -m) or export "
                           + " ".join(f"{k}={v}" for k, v in env.items()))
    environ.update(env)
    return env


def describe() -> str:
    """One line on the code paths in effect (imports torch)."""
    import torch

    env = ", ".join(f"{k}={os.environ[k]}" for k in (*PORTABLE_ENV, "OMP_NUM_THREADS") if k in os.environ)
    return (f"ATen CPU capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads"
            + (f"; {env}" if env else "; no ISA pinning (default dispatch)"))
