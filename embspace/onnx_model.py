"""ONNX export of an encoder model file, and an ONNX Runtime encoder usable wherever a torch one is.

The exported graph maps ``feats`` ``[B, T, F]`` (mean-normalised fbank) to ``embs`` ``[B, D]`` with
dynamic ``B`` and ``T``, optionally minus a mean embedding (``mean.vec``). It is one self-contained file
(legacy TorchScript exporter, opset 17) whose metadata records the model's front-end, so extraction
from audio computes the features the model expects.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from embspace.features.frontend import check_frontend
from embspace.utils.atomic import atomic_open
from embspace.utils.errors import DataError

OPSET = 17
META_KEY = "embspace"


class _MeanSubtracted(torch.nn.Module):
    """The encoder's embeddings minus a fixed mean vector."""

    def __init__(self, encoder: torch.nn.Module, mean: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("mean", mean)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.encoder(feats) - self.mean


def export_onnx(model_path: str | os.PathLike, out_path: str | os.PathLike,
                mean_vec: np.ndarray | None = None, frames: int = 200) -> dict[str, Any]:
    """Write ``model_path`` (an embspace model file) as ONNX to ``out_path``; returns the stored metadata."""
    import onnx

    from embspace.extract import load_encoder

    encoder = load_encoder(model_path, torch.device("cpu"))
    example = torch.zeros(2, frames, encoder.feat_dim)
    with torch.inference_mode():
        dim = int(encoder(example).shape[-1])
    graph: torch.nn.Module = encoder
    if mean_vec is not None:
        mean = np.asarray(mean_vec, dtype=np.float32).ravel()
        if mean.shape != (dim,):
            raise DataError(f"mean vector has dimension {mean.size}, the model's embeddings {dim}")
        graph = _MeanSubtracted(encoder, torch.from_numpy(mean)).eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the legacy exporter's deprecation notices
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (example,), buf, dynamo=False, opset_version=OPSET, input_names=["feats"],
            output_names=["embs"], dynamic_axes={"feats": {0: "B", 1: "T"}, "embs": {0: "B"}})
    meta = {"feat_dim": encoder.feat_dim, "embed_dim": dim, "frontend": encoder.frontend,
            "mean_subtracted": mean_vec is not None, "source": Path(model_path).name}
    write_with_metadata(onnx.load_from_string(buf.getvalue()), meta, out_path)
    return meta


def write_with_metadata(proto: Any, meta: dict[str, Any], out_path: str | os.PathLike) -> None:
    """Write ONNX model ``proto`` with embspace's metadata (replacing any) to ``out_path``, atomically."""
    kept = [p for p in proto.metadata_props if p.key != META_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(meta, sort_keys=True)
    with atomic_open(out_path, "wb") as f:
        f.write(proto.SerializeToString())


def session(path: str | os.PathLike, device: torch.device | str = "cpu", num_threads: int | None = None) -> Any:
    """An ONNX Runtime session (CUDA provider first on a CUDA device when available); DataError if unloadable."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise DataError("onnxruntime is not installed (pip install 'embspace[onnx]')", path) from None
    path = Path(path)
    if not path.is_file():
        raise DataError("ONNX model not found", path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:  # not an ONNX file, unsupported operator
        raise DataError(f"cannot load ONNX model ({type(e).__name__}: {e})", path) from None


def check_io(sess: Any, path: str | os.PathLike) -> tuple[str, int]:
    """The input's name and feature dimension; DataError unless one input ``[B, T, F]`` (dynamic ``T``)
    and one output."""
    inputs, outputs = sess.get_inputs(), sess.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        raise DataError(f"expected one input and one output, got {len(inputs)} and {len(outputs)}", path)
    shape = inputs[0].shape
    if len(shape) != 3 or not isinstance(shape[2], int) or isinstance(shape[1], int):
        raise DataError(f"input '{inputs[0].name}' has shape {shape}; expected [batch, frames, feat_dim] "
                        "with dynamic frames", path)
    return inputs[0].name, int(shape[2])


class OnnxEncoder:
    """An exported encoder run by ONNX Runtime; called like the torch encoder (``[B,T,F]`` tensor in,
    ``[B,D]`` tensor out) and carrying ``feat_dim`` and ``frontend``."""

    def __init__(self, path: str | os.PathLike, device: torch.device | str = "cpu", num_threads: int | None = None):
        self.path = Path(path)
        self.session = session(path, device, num_threads)
        self.input_name, self.feat_dim = check_io(self.session, path)
        meta = self.session.get_modelmeta().custom_metadata_map.get(META_KEY)
        if meta is None:
            raise DataError("no embspace metadata (front-end): export the model with python -m embspace.bin.export_onnx,"
                            " or import a WeSpeaker ONNX file with import_model --from wespeaker-onnx", path)
        self.meta = json.loads(meta)
        self.frontend = check_frontend(self.meta["frontend"])
        self.embed_dim = int(self.meta["embed_dim"])

    def eval(self) -> "OnnxEncoder":
        return self

    def to(self, device: torch.device | str) -> "OnnxEncoder":
        return self

    def __call__(self, feats: torch.Tensor) -> torch.Tensor:
        x = np.ascontiguousarray(feats.detach().cpu().numpy(), dtype=np.float32)
        if x.ndim != 3 or x.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}) features, got {tuple(x.shape)}")
        return torch.from_numpy(self.session.run(None, {self.input_name: x})[0])
