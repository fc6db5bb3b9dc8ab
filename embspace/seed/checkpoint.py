"""SEED model files: weights, the settings needed to use them, and the extractor they belong to.

A model file (``model_<epoch>.pt``, ``seed_model.pt``) holds ``model`` (state dict), ``seed``
(dimension, shape, schedule, normalisation, default inference settings) and ``extractor``
(``{"kind", "name", "sha256"}`` of the frozen extractor whose embeddings it was trained on).
Loading checks all three against what the caller has.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from embspace.seed.config import SeedConfig
from embspace.seed.enhance import Enhancer
from embspace.seed.model import SeedMLP
from embspace.seed.schedule import NoiseSchedule
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError


def model_meta(cfg: SeedConfig, dim: int) -> dict[str, Any]:
    """What a model file records besides its weights."""
    return {"dim": dim, **cfg.to_dict()["model"], "num_steps": cfg.diffusion.num_steps,
            "beta_start": cfg.diffusion.beta_start, "beta_end": cfg.diffusion.beta_end,
            "clip_sample": cfg.diffusion.clip_sample, "normalisation": cfg.normalisation,
            "inference": cfg.to_dict()["inference"]}


def build_model(meta: dict[str, Any]) -> SeedMLP:
    """An untrained network of the recorded shape."""
    return SeedMLP(int(meta["dim"]), int(meta["width_mult"]), int(meta["num_blocks"]), float(meta["dropout"]),
                   bool(meta.get("skip", False)))


def check_extractor(state: dict, path: str | os.PathLike, extractor: dict | None) -> None:
    """DataError when the file was trained on another extractor's embeddings."""
    if extractor is None:
        return
    have = state.get("extractor") or {}
    if have.get("sha256") != extractor.get("sha256"):
        raise DataError(f"this SEED model was trained on embeddings of extractor '{have.get('name')}' "
                        f"(sha256 {str(have.get('sha256'))[:12]}...), not of '{extractor.get('name')}' "
                        f"(sha256 {str(extractor.get('sha256'))[:12]}...)", path, key="extractor")


def check_dim(meta: dict, dim: int, model_path: str | os.PathLike, data_path: str | os.PathLike, key: str) -> None:
    """DataError naming the embedding file when its dimension differs from the model's."""
    if int(meta["dim"]) != dim:
        raise DataError(f"embedding dimension {dim} differs from the SEED model's {meta['dim']} ({model_path})",
                        data_path, key=key)


def load_seed_model(path: str | os.PathLike, device: torch.device | str = "cpu",
                    extractor: dict | None = None) -> tuple[Enhancer, dict[str, Any]]:
    """An :class:`Enhancer` and the file's metadata (``seed`` + ``extractor`` + ``epoch``)."""
    state = ckpt.load(path, map_location=device)
    if not isinstance(state, dict) or "model" not in state or "seed" not in state:
        raise DataError("not a SEED model file (needs 'model' and 'seed')", path)
    check_extractor(state, path, extractor)
    meta = dict(state["seed"])
    try:
        model = build_model(meta)
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise DataError(f"SEED model file does not match its recorded shape: {e}", path) from None
    enhancer = Enhancer(model.to(device), NoiseSchedule(meta["num_steps"], meta["beta_start"], meta["beta_end"]),
                        meta["normalisation"], bool(meta["clip_sample"]))
    return enhancer, {"seed": meta, "extractor": state.get("extractor"), "epoch": state.get("epoch")}
