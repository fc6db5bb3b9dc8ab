"""An aligner: two side maps that put embeddings of model X and model Y into one scoring space.

``map(side, e) = transform(side, prepare(side, e))`` where ``prepare`` subtracts the side's
training mean and length-normalises (the same as cosine scoring does), and ``transform`` applies
the side's map (identity on the target side of ``x_to_y`` / ``y_to_x``) and length-normalises.
Directions: ``x_to_y`` maps X into Y's space, ``y_to_x`` Y into X's, ``both_to_z`` both into a new
space. Kinds: ``identity`` (symmetric scoring), ``linear``, ``procrustes``, ``mlp`` (NESSA) and
``logit`` (the speaker-logit-space baseline).

Saved as ``{"config": plain dict, "state": state_dict, "info": plain dict}`` and loaded with
``weights_only=True``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from embspace.nessa.logit_space import LogitMap
from embspace.nessa.mappers import MLP, Affine
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError

KINDS = ("identity", "linear", "procrustes", "mlp", "logit")
DIRECTIONS = ("x_to_y", "y_to_x", "both_to_z")
SIDES = ("x", "y")
MLP_DEFAULTS: dict[str, Any] = {"hidden_dims": [1024, 1024], "activation": "relu", "batchnorm": True, "dropout": 0.1,
                                "linear_skip": True}
LOGIT_DEFAULTS: dict[str, Any] = {"num_references": 0, "transform": "cosine", "temperature": 0.1}


def aligner_config(kind: str, direction: str, x_dim: int, y_dim: int, shared_dim: int = 0, center_in: bool = True,
                   l2_in: bool = True, l2_out: bool = True, **options: Any) -> dict[str, Any]:
    """A complete, validated aligner config; ``options`` are MLP or logit-space settings."""
    if kind not in KINDS:
        raise ValueError(f"unknown mapper '{kind}' (one of {', '.join(KINDS)})")
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction '{direction}' (one of {', '.join(DIRECTIONS)})")
    if kind == "procrustes" and (direction == "both_to_z" or x_dim != y_dim):
        raise ValueError(f"procrustes needs equal dimensions and x_to_y or y_to_x (got {x_dim}, {y_dim}, {direction})")
    if kind == "identity" and x_dim != y_dim:
        raise ValueError(f"identity scoring needs equal dimensions, got {x_dim} and {y_dim}")
    defaults = MLP_DEFAULTS if kind == "mlp" else LOGIT_DEFAULTS if kind == "logit" else {}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"unknown option(s) for mapper '{kind}': {', '.join(unknown)}")
    cfg: dict[str, Any] = {"kind": kind, "direction": "both_to_z" if kind == "logit" else direction,
                           "x_dim": int(x_dim), "y_dim": int(y_dim), "center_in": bool(center_in),
                           "l2_in": bool(l2_in), "l2_out": bool(l2_out), **defaults, **options}
    if kind == "mlp":
        cfg["hidden_dims"] = [int(h) for h in cfg["hidden_dims"]]
    if kind == "logit":
        if cfg["num_references"] < 1:
            raise ValueError("the logit space needs at least one reference speaker")
        cfg["z_dim"] = int(cfg["num_references"])
    elif cfg["direction"] == "both_to_z":
        if shared_dim < 1:
            raise ValueError("both_to_z needs shared_dim >= 1")
        cfg["z_dim"] = int(shared_dim)
    else:
        cfg["z_dim"] = int(y_dim if cfg["direction"] == "x_to_y" else x_dim)
    return cfg


def _side_map(cfg: dict[str, Any], side: str) -> nn.Module:
    """The module of one side: a map when that side is a source, else the identity."""
    kind, direction = cfg["kind"], cfg["direction"]
    in_dim, z_dim = cfg[f"{side}_dim"], cfg["z_dim"]
    if kind == "logit":
        return LogitMap(in_dim, z_dim, cfg["transform"], cfg["temperature"])
    is_source = kind != "identity" and (direction == "both_to_z" or direction == f"{side}_to_{'y' if side == 'x' else 'x'}")
    if not is_source:
        return nn.Identity()
    if kind == "mlp":
        return MLP(in_dim, z_dim, cfg["hidden_dims"], cfg["activation"], cfg["batchnorm"], cfg["dropout"],
                   cfg["linear_skip"], zero_last=cfg["linear_skip"] and direction != "both_to_z")
    return Affine(in_dim, z_dim, bias=kind != "procrustes")


class Aligner(nn.Module):
    """Two side maps into the shared space, with the input means they subtract."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.fx, self.fy = _side_map(config, "x"), _side_map(config, "y")
        self.register_buffer("x_mean", torch.zeros(config["x_dim"]))
        self.register_buffer("y_mean", torch.zeros(config["y_dim"]))

    @property
    def z_dim(self) -> int:
        return int(self.config["z_dim"])

    def dim(self, side: str) -> int:
        return int(self.config[f"{_check_side(side)}_dim"])

    def set_means(self, x_mean: np.ndarray | None, y_mean: np.ndarray | None) -> None:
        with torch.no_grad():
            for buf, m in ((self.x_mean, x_mean), (self.y_mean, y_mean)):
                buf.copy_(torch.tensor(np.asarray(m, dtype=np.float32)) if m is not None else torch.zeros_like(buf))

    def side_map(self, side: str) -> nn.Module:
        return self.fx if _check_side(side) == "x" else self.fy

    def prepare(self, side: str, e: torch.Tensor) -> torch.Tensor:
        """Input normalisation: subtract the side's mean, length-normalise (each as configured)."""
        if self.config["center_in"]:
            e = e - (self.x_mean if _check_side(side) == "x" else self.y_mean)
        return F.normalize(e, dim=1) if self.config["l2_in"] else e

    def transform(self, side: str, p: torch.Tensor) -> torch.Tensor:
        """The side's map of prepared inputs, length-normalised when ``l2_out``."""
        z = self.side_map(side)(p)
        return F.normalize(z, dim=1) if self.config["l2_out"] else z

    def forward(self, side: str, e: torch.Tensor) -> torch.Tensor:
        return self.transform(side, self.prepare(side, e))


def _check_side(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be 'x' or 'y', got {side!r}")
    return side


@torch.no_grad()
def apply_numpy(aligner: Aligner, side: str, emb: np.ndarray, stage: str = "map") -> np.ndarray:
    """Run ``prepare``, ``transform`` or both (``map``) on a float32 matrix in eval mode."""
    if emb.ndim != 2 or emb.shape[1] != aligner.dim(side):
        raise ValueError(f"expected (rows, {aligner.dim(side)}) {side} embeddings, got {emb.shape}")
    was_training = aligner.training
    aligner.eval()
    t = torch.as_tensor(np.ascontiguousarray(emb, dtype=np.float32))
    out = {"map": lambda: aligner(side, t), "prepare": lambda: aligner.prepare(side, t),
           "transform": lambda: aligner.transform(side, t)}[stage]()
    aligner.train(was_training)
    return out.numpy().astype(np.float32)


def save_aligner(aligner: Aligner, path: str | os.PathLike, info: dict[str, Any] | None = None) -> None:
    """Write the aligner (config, weights, plain-typed info) atomically."""
    ckpt.save({"config": aligner.config, "state": aligner.state_dict(), "info": dict(info or {})}, path)


def load_aligner(path: str | os.PathLike) -> tuple[Aligner, dict[str, Any]]:
    """Load a saved aligner (``weights_only=True``); returns ``(aligner in eval mode, info)``."""
    obj = ckpt.load(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("config"), dict) or "state" not in obj:
        raise DataError("not a NESSA mapper file (expected 'config' and 'state')", path)
    try:
        aligner = Aligner(obj["config"])
        aligner.load_state_dict(obj["state"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise DataError(f"cannot rebuild the mapper: {e}", path) from None
    return aligner.eval(), dict(obj.get("info", {}))
