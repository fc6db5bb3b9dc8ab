"""TorchScript export of an encoder model file, and the loaded TorchScript encoder usable wherever a torch one is.

The scripted module maps mean-normalised fbank ``[B, T, F]`` to embeddings ``[B, D]`` (any ``B`` and ``T``)
and runs without embspace's Python code (``torch.jit.load``, or ``torch::jit::load`` in C++). The file
carries the model's front-end and dimensions as JSON in the extra file ``embspace.json``, so extraction
from audio computes the features the model expects.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Iterator

import torch

from embspace.features.frontend import check_frontend
from embspace.utils.atomic import atomic_open
from embspace.utils.errors import DataError

META_FILE = "embspace.json"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without torch.jit's deprecation notices (TorchScript still works; it gets no new features)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit")
        yield


def is_torchscript(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip holding compiled ``code/``), whatever its name."""
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/__torch__" in name for name in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def export_torchscript(model_path: str | os.PathLike, out_path: str | os.PathLike) -> dict[str, Any]:
    """Script the encoder of ``model_path`` (an embspace model file) into ``out_path``; returns the stored
    metadata. A model that does not script is a DataError naming the file."""
    from embspace.extract import load_encoder

    if str(model_path).endswith(".onnx") or is_torchscript(model_path):
        raise DataError("expected an embspace model file (.pt), not an ONNX or TorchScript export", model_path)
    encoder = load_encoder(model_path, torch.device("cpu"))
    with torch.inference_mode():
        dim = int(encoder(torch.zeros(1, 200, encoder.feat_dim)).shape[-1])
    try:
        with _quiet():
            scripted = torch.jit.script(encoder)
    except Exception as e:  # torch.jit.frontend.NotSupportedError, RuntimeError of the compiler
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"the encoder cannot be scripted ({first})", model_path) from None
    meta = {"feat_dim": int(encoder.feat_dim), "embed_dim": dim, "frontend": encoder.frontend,
            "model_type": str(type(encoder).__name__), "source": Path(model_path).name}
    with atomic_open(out_path, "wb") as f, _quiet():
        torch.jit.save(scripted, f, _extra_files={META_FILE: json.dumps(meta, sort_keys=True)})
    return meta


def load_scripted(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[Any, dict[str, Any]]:
    """``(scripted module in eval mode, metadata)`` of an exported file; DataError if unloadable or foreign."""
    path = Path(path)
    if not path.is_file():
        raise DataError("TorchScript model not found", path)
    extra = {META_FILE: ""}
    try:
        with _quiet():
            module = torch.jit.load(str(path), map_location=torch.device(device), _extra_files=extra)
    except Exception as e:  # not a zip, a torch.save checkpoint, a damaged archive
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"cannot load TorchScript model ({type(e).__name__}: {first})", path) from None
    if not extra[META_FILE]:
        raise DataError("no embspace metadata (front-end) in this TorchScript file: export the model with "
                        "python -m embspace.bin.export_torchscript", path)
    try:
        meta = json.loads(extra[META_FILE])
        meta["frontend"] = check_frontend(meta["frontend"])
        meta["feat_dim"], meta["embed_dim"] = int(meta["feat_dim"]), int(meta["embed_dim"])
    except (ValueError, KeyError, TypeError, DataError) as e:
        raise DataError(f"bad embspace metadata in {META_FILE} ({e})", path) from None
    return module.eval(), meta


class TorchScriptEncoder:
    """An exported TorchScript encoder; called like the torch encoder (``[B,T,F]`` tensor in, ``[B,D]``
    tensor out) and carrying ``feat_dim``, ``embed_dim`` and ``frontend``."""

    def __init__(self, path: str | os.PathLike, device: torch.device | str = "cpu") -> None:
        self.path = Path(path)
        self.module, self.meta = load_scripted(path, device)
        self.feat_dim = self.meta["feat_dim"]
        self.embed_dim = self.meta["embed_dim"]
        self.frontend = self.meta["frontend"]

    def eval(self) -> "TorchScriptEncoder":
        return self

    def to(self, device: torch.device | str) -> "TorchScriptEncoder":
        self.module.to(device)
        return self

    def __call__(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 3 or feats.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}) features, got {list(feats.shape)}")
        return self.module(feats)
