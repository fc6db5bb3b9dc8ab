"""WeSpeaker checkpoints (``avg_model.pt`` + ``config.yaml``) as embspace model files.

Supported: ResNet18/34 (BasicBlock), ResNet50/101/152/221/293 (Bottleneck) with TSTP or ASTP pooling
and optional second embedding layer; ECAPA_TDNN_c512/c1024 and ECAPA_TDNN_GLOB_c512/c1024 with ASTP or
TSTP pooling and optional ``emb_bn``. Widths (``m_channels``, ECAPA channels and aggregation width,
attention and SE bottlenecks) are read from the weights. The converted model computes what WeSpeaker's
computes: its pooling uses WeSpeaker's statistics (``stats="unbiased"``), ECAPA's attention is
``tanh(W1 x)`` (global context only for GLOB), blocks are chained, and Res2Net's pass-through channel
group (WeSpeaker's last, embspace's first) is moved by permuting the channels around the Res2 layer.
The margin head (``projection.*``) is dropped. Anything else that does not fit is a DataError naming
the key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

import torch
import yaml

from embspace.features.frontend import kaldi_frontend
from embspace.models import build_model
from embspace.utils.errors import DataError

#: WeSpeaker ResNet name -> (block, block counts)
RESNETS: dict[str, tuple[str, list[int]]] = {
    "ResNet18": ("basic", [2, 2, 2, 2]), "ResNet34": ("basic", [3, 4, 6, 3]),
    "ResNet50": ("bottleneck", [3, 4, 6, 3]), "ResNet101": ("bottleneck", [3, 4, 23, 3]),
    "ResNet152": ("bottleneck", [3, 8, 36, 3]), "ResNet221": ("bottleneck", [6, 16, 48, 3]),
    "ResNet293": ("bottleneck", [10, 20, 64, 3]),
}
ECAPAS = ("ECAPA_TDNN_c512", "ECAPA_TDNN_c1024", "ECAPA_TDNN_GLOB_c512", "ECAPA_TDNN_GLOB_c1024")
_ARGS = {"resnet": {"feat_dim", "embed_dim", "pooling_func", "two_emb_layer"},
         "ecapa": {"feat_dim", "embed_dim", "pooling_func", "emb_bn"}}
_IGNORED_PREFIX = "projection."  # the training-only margin head

Tensor = torch.Tensor


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """WeSpeaker's training ``config.yaml`` (needs ``model`` and ``model_args``)."""
    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except OSError as e:
        raise DataError(f"cannot read config ({e.strerror})", path) from None
    except yaml.YAMLError as e:
        raise DataError(f"not valid YAML ({e})", path) from None
    if not isinstance(cfg, dict) or "model" not in cfg:
        raise DataError("not a WeSpeaker config (no 'model')", path, key="model")
    if not isinstance(cfg.get("model_args"), dict):
        raise DataError("not a WeSpeaker config (no 'model_args' mapping)", path, key="model_args")
    return cfg


def read_checkpoint(path: str | os.PathLike) -> dict[str, Tensor]:
    """The flat state dict of a WeSpeaker checkpoint (``{"state_dict": ...}`` is unwrapped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, pickle error
        raise DataError(f"cannot load checkpoint ({type(e).__name__}: {e})", path) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise DataError("not a WeSpeaker checkpoint (expected a flat dict of tensors)", path)
    if "model" in state or "model_config" in state:
        raise DataError("this is already an embspace model file", path)
    return state


def _pooling(func: str, ws: dict[str, Tensor], prefix: str, glob: bool) -> tuple[str, dict]:
    """embspace pooling name and options for WeSpeaker's ``pooling_func``."""
    if func == "TSTP":
        return "tstp", {"stats": "unbiased"}
    if func == "ASTP":
        key = prefix + "linear1.weight"
        if key not in ws:
            raise DataError("missing tensor of the ASTP pooling", key=key)
        return "asp", {"stats": "unbiased", "attention": "tanh", "global_context": glob,
                       "attention_channels": int(ws[key].shape[0])}
    raise DataError(f"pooling_func '{func}' is not supported (TSTP, ASTP)", key="model_args.pooling_func")


def _need(ws: dict[str, Tensor], key: str) -> Tensor:
    if key not in ws:
        raise DataError("missing tensor", key=key)
    return ws[key]


def model_config(cfg: dict[str, Any], ws: dict[str, Tensor]) -> dict[str, Any]:
    """The embspace ``model_config`` equivalent to WeSpeaker's ``model`` / ``model_args``."""
    name, args = str(cfg["model"]), dict(cfg["model_args"])
    family = "resnet" if name in RESNETS else "ecapa" if name in ECAPAS else None
    if family is None:
        raise DataError(f"unsupported WeSpeaker architecture '{name}' (supported: "
                        f"{', '.join(list(RESNETS) + list(ECAPAS))})", key="model")
    unknown = sorted(set(args) - _ARGS[family])
    if unknown:
        raise DataError(f"unsupported option for {name}", key=f"model_args.{unknown[0]}")
    for key in ("feat_dim", "embed_dim"):
        if key not in args:
            raise DataError("missing", key=f"model_args.{key}")
    base = {"feat_dim": int(args["feat_dim"]), "embed_dim": int(args["embed_dim"])}
    if family == "resnet":
        block, layers = RESNETS[name]
        pooling, opts = _pooling(args.get("pooling_func", "TSTP"), ws, "pool.", glob=False)
        return {"type": "resnet", **base, "m_channels": int(_need(ws, "conv1.weight").shape[0]), "layers": layers,
                "block": block, "pooling": pooling, "pooling_options": opts,
                "two_emb_layer": bool(args.get("two_emb_layer", False))}
    pooling, opts = _pooling(args.get("pooling_func", "ASTP"), ws, "pool.", glob="GLOB" in name)
    return {"type": "ecapa", **base, "channels": int(_need(ws, "layer1.conv.weight").shape[0]), "scale": 8,
            "mfa_channels": int(_need(ws, "conv.weight").shape[0]),
            "se_channels": int(_need(ws, "layer2.se_res2block.3.linear1.weight").shape[0]),
            "pooling": pooling, "pooling_options": opts, "sum_inputs": False,
            "emb_bn": bool(args.get("emb_bn", False))}


def _resnet_source(key: str) -> str | None:
    """WeSpeaker key of an embspace ResNet key (None: made here, not in WeSpeaker's file)."""
    rules = [(r"^stem\.0\.(.*)", r"conv1.\1"), (r"^stem\.1\.(.*)", r"bn1.\1"),
             (r"^stages\.(\d+)\.(.*)", lambda m: f"layer{int(m[1]) + 1}.{m[2]}"),
             (r"^embed\.pool\.attention\.0\.(.*)", r"pool.linear1.\1"),
             (r"^embed\.pool\.attention\.2\.(.*)", r"pool.linear2.\1"),
             (r"^embed\.seg1\.(.*)", r"seg_1.\1"), (r"^embed\.seg2\.1\.(weight|bias)$", None),
             (r"^embed\.seg2\.1\.(.*)", r"seg_bn_1.\1"), (r"^embed\.seg2\.2\.(.*)", r"seg_2.\1")]
    return _apply_rules(rules, key)


def _ecapa_source(key: str) -> str | None:
    """WeSpeaker key of an embspace ECAPA key."""
    def block(m: re.Match) -> str:
        layer = f"layer{int(m[1]) + 2}.se_res2block"
        part, rest = m[2], m[3]
        sub = {"0.0": "0.conv", "0.2": "0.bn", "2.0": "2.conv", "2.2": "2.bn",
               "3.fc.0": "3.linear1", "3.fc.2": "3.linear2"}
        if part in sub:
            return f"{layer}.{sub[part]}.{rest}"
        conv = re.match(r"^1\.convs\.(\d+)\.([02])$", part)
        if conv:
            return f"{layer}.1.{'convs' if conv[2] == '0' else 'bns'}.{conv[1]}.{rest}"
        raise DataError("no WeSpeaker counterpart for model tensor", key=m[0])

    rules = [(r"^conv1\.0\.(.*)", r"layer1.conv.\1"), (r"^conv1\.2\.(.*)", r"layer1.bn.\1"),
             (r"^blocks\.(\d+)\.body\.(.*)\.([a-z_]+)$", block),
             (r"^mfa\.0\.(.*)", r"conv.\1"), (r"^pool\.attention\.0\.(.*)", r"pool.linear1.\1"),
             (r"^pool\.attention\.2\.(.*)", r"pool.linear2.\1"), (r"^bn_pool\.(.*)", r"bn.\1"),
             (r"^fc\.(.*)", r"linear.\1"), (r"^bn_emb\.(.*)", r"bn2.\1")]
    return _apply_rules(rules, key)


def _apply_rules(rules: list, key: str) -> str | None:
    for pattern, repl in rules:
        m = re.match(pattern, key)
        if m:
            if repl is None:
                return None
            return repl(m) if callable(repl) else m.expand(repl)
    raise DataError("no WeSpeaker counterpart for model tensor", key=key)


def _ecapa_transform(channels: int, scale: int) -> Callable[[str, Tensor], Tensor]:
    """Moves Res2Net's pass-through group from last (WeSpeaker) to first (embspace) place."""
    width = channels // scale
    perm = torch.cat([torch.arange(channels - width, channels), torch.arange(channels - width)])

    def transform(key: str, value: Tensor) -> Tensor:
        if re.match(r"^blocks\.\d+\.body\.0\.[02]\.(weight|bias|running_mean|running_var)$", key):
            return value[perm]
        if re.match(r"^blocks\.\d+\.body\.2\.0\.weight$", key):
            return value[:, perm]
        return value

    return transform


def convert_state(model_cfg: dict[str, Any], ws: dict[str, Tensor]) -> dict[str, Tensor]:
    """embspace weights for ``model_cfg`` from WeSpeaker's; every key checked, both ways."""
    target = build_model(model_cfg).state_dict()
    if model_cfg["type"] == "resnet":
        source_of, transform = _resnet_source, (lambda key, value: value)
    else:
        source_of, transform = _ecapa_source, _ecapa_transform(model_cfg["channels"], model_cfg["scale"])
    out, used = {}, set()
    for key, ref in target.items():
        src = source_of(key)
        if src is None:  # WeSpeaker's affine-free BN of the second embedding layer
            out[key] = torch.ones_like(ref) if key.endswith("weight") else torch.zeros_like(ref)
            continue
        value = _need(ws, src)
        used.add(src)
        if value.dim() == 2 and ref.dim() == 3 and ref.shape[-1] == 1:  # Linear -> Conv1d k=1 (ECAPA's SE)
            value = value.unsqueeze(-1)
        if tuple(value.shape) != tuple(ref.shape):
            raise DataError(f"shape {tuple(value.shape)} does not fit the model ({tuple(ref.shape)} "
                            f"for {key})", key=src)
        out[key] = transform(key, value.to(ref.dtype)).clone()
    unexpected = sorted(k for k in ws if k not in used and not k.startswith(_IGNORED_PREFIX))
    if unexpected:
        raise DataError(f"unexpected tensor for {model_cfg['type']} ({len(unexpected)} in all)", key=unexpected[0])
    return out


def frontend_from_config(cfg: dict[str, Any], feat_dim: int) -> dict[str, Any]:
    """WeSpeaker's Kaldi front-end with the config's fbank settings (dither is training-only)."""
    dataset_args = cfg.get("dataset_args") or {}
    frontend = dataset_args.get("frontend", "fbank")
    if frontend != "fbank":
        raise DataError(f"front-end '{frontend}' is not supported (fbank only)", key="dataset_args.frontend")
    fbank = dataset_args.get("fbank_args") or {}
    bins = int(fbank.get("num_mel_bins", feat_dim))
    if bins != feat_dim:
        raise DataError(f"num_mel_bins {bins} differs from the model's feat_dim {feat_dim}",
                        key="dataset_args.fbank_args.num_mel_bins")
    return kaldi_frontend(bins, float(fbank.get("frame_length", 25)), float(fbank.get("frame_shift", 10)),
                          int(dataset_args.get("resample_rate", 16000)))


def import_wespeaker(checkpoint: str | os.PathLike, config: str | os.PathLike) -> dict[str, Any]:
    """An embspace model file (``model``, ``model_config``, ``frontend``, ``imported_from``)."""
    cfg = read_config(config)
    ws = read_checkpoint(checkpoint)
    try:
        mcfg = model_config(cfg, ws)
        state = convert_state(mcfg, ws)
    except DataError as e:
        raise DataError(str(e), checkpoint) from None
    return {"model": state, "model_config": mcfg, "frontend": frontend_from_config(cfg, mcfg["feat_dim"]),
            "imported_from": {"toolkit": "wespeaker", "model": str(cfg["model"]),
                              "checkpoint": Path(checkpoint).name}}


def import_wespeaker_onnx(onnx_path: str | os.PathLike, config: str | os.PathLike,
                          out_path: str | os.PathLike) -> dict[str, Any]:
    """Copy WeSpeaker's ONNX export (``feats`` [B,T,F] -> ``embs``, dynamic T) to ``out_path`` with the
    front-end of ``config`` recorded, so embspace can run it; returns the metadata."""
    import numpy as np
    import onnx

    from embspace.onnx_model import check_io, session, write_with_metadata

    cfg = read_config(config)
    feat_dim = int(cfg["model_args"].get("feat_dim", 80))
    sess = session(onnx_path)
    input_name, onnx_feat_dim = check_io(sess, onnx_path)
    if onnx_feat_dim != feat_dim:
        raise DataError(f"input has {onnx_feat_dim} features, config.yaml's feat_dim is {feat_dim}", onnx_path)
    embed_dim = int(sess.run(None, {input_name: np.zeros((1, 200, feat_dim), np.float32)})[0].shape[-1])
    meta = {"feat_dim": feat_dim, "embed_dim": embed_dim, "frontend": frontend_from_config(cfg, feat_dim),
            "mean_subtracted": None, "source": Path(onnx_path).name}
    write_with_metadata(onnx.load(str(onnx_path)), meta, out_path)
    return meta
