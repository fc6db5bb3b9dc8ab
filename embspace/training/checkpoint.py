"""Checkpoints: full training state for exact resumption, and averaged model weights.

Everything stored is a tensor or a plain Python container, so every load uses
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from embspace.utils.atomic import atomic_open
from embspace.utils.errors import DataError


def save(obj: dict, path: str | os.PathLike) -> None:
    """``torch.save`` under a temporary name, renamed when whole. Saved through a file object, so the
    zip archive's record names do not carry the (per-process) temporary name: same state, same bytes."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; a damaged file is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, pickle error
        raise DataError(f"cannot load checkpoint ({type(e).__name__}: {e})", path) from None


def rng_state() -> dict:
    """The global RNG states (torch CPU/CUDA, numpy, python) as weights-only-safe objects."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(x):
    return [_to_lists(v) for v in x] if isinstance(x, (tuple, list)) else x


def _to_tuples(x):
    return tuple(_to_tuples(v) for v in x) if isinstance(x, list) else x


_MODEL_RE = re.compile(r"^model_(\d+)\.pt$")


def epoch_models(model_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``model_<epoch>.pt`` in ``model_dir``, sorted by epoch."""
    found = []
    for p in Path(model_dir).glob("model_*.pt"):
        m = _MODEL_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def average_models(paths: list[Path], out_path: str | os.PathLike) -> dict:
    """Average the ``model`` weights of several model files; other fields come from the last one.

    Integer buffers (BatchNorm's ``num_batches_tracked``) are taken from the last file.
    """
    if not paths:
        raise DataError("no model files to average")
    states = [load(p) for p in paths]
    avg = {}
    for key, value in states[-1]["model"].items():
        if value.is_floating_point():
            avg[key] = sum(s["model"][key].double() for s in states).div(len(states)).to(value.dtype)
        else:
            avg[key] = value
    out = dict(states[-1])
    out["model"] = avg
    out["averaged_from"] = [str(Path(p).name) for p in paths]
    save(out, out_path)
    return out
