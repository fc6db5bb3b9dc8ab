"""Imported WeSpeaker models vs WeSpeaker's own code on speech wavs: embeddings, front-end, ONNX, TorchScript.

Run (WeSpeaker's ``wespeaker/models/{resnet,ecapa_tdnn,pooling_layers}.py`` importable, as for
``tests/fixtures/wespeaker/make_fixtures.py``; WeSpeaker's code is not part of embspace)::

    PYTHONPATH=/path/to/wespeaker python bench/wespeaker_parity.py --wav-dir egs/mini/v1/data/corpus/wav

For each architecture (full-size, 80-dim fbank, random weights and BatchNorm statistics, WeSpeaker's
default pooling) the model built by WeSpeaker's code is saved as WeSpeaker saves it, imported with
``import_wespeaker`` and run on the same features: kaldi-native-fbank fbank as WeSpeaker computes it
(int16-scaled samples, Hamming window, ``snip_edges``, dither 0) minus its utterance mean. Printed:
max abs difference of the embeddings (and the largest embedding value, for scale); end to end,
``embspace.load_model(...).embed(wav)`` with its own on-the-fly front-end vs WeSpeaker (max abs, and
1 - the least cosine); the ONNX and TorchScript exports vs PyTorch on the same features; embspace's
Kaldi front-end vs kaldi-native-fbank (max and mean abs, log-mel; ``--models`` with no name: only
this). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

import embspace  # noqa: E402
from embspace.api import cosine  # noqa: E402
from embspace.extract import load_encoder  # noqa: E402
from embspace.features.frontend import Frontend, kaldi_frontend  # noqa: E402
from embspace.interop.wespeaker import import_wespeaker  # noqa: E402
from embspace.training import checkpoint as ckpt  # noqa: E402
from embspace.utils.machine import describe_machine  # noqa: E402

#: WeSpeaker model name -> (factory module, embed_dim, model_args beyond feat_dim/embed_dim)
ARCHS = {
    "ResNet18": ("resnet", 256, {"pooling_func": "TSTP", "two_emb_layer": False}),
    "ResNet34": ("resnet", 256, {"pooling_func": "TSTP", "two_emb_layer": False}),
    "ResNet50": ("resnet", 256, {"pooling_func": "TSTP", "two_emb_layer": False}),
    "ECAPA_TDNN_c512": ("ecapa_tdnn", 192, {"pooling_func": "ASTP", "emb_bn": False}),
    "ECAPA_TDNN_GLOB_c1024": ("ecapa_tdnn", 192, {"pooling_func": "ASTP", "emb_bn": False}),
}


def knf_fbank(samples: np.ndarray, num_bins: int = 80) -> np.ndarray:
    """kaldi-native-fbank log-mel fbank with WeSpeaker's settings (float samples in [-1, 1))."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.window_type = "hamming"
    opts.frame_opts.snip_edges = True
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = num_bins
    opts.mel_opts.high_freq = 0
    online = knf.OnlineFbank(opts)
    online.accept_waveform(16000, (samples * 32768).tolist())
    online.input_finished()
    return np.stack([online.get_frame(i) for i in range(online.num_frames_ready)]).astype(np.float32)


def wespeaker_model(name: str, seed: int) -> tuple[torch.nn.Module, dict]:
    """WeSpeaker's model ``name`` (its own code) with random weights and BN statistics, and its config."""
    import importlib

    module, embed_dim, extra = ARCHS[name]
    args = {"feat_dim": 80, "embed_dim": embed_dim, **extra}
    torch.manual_seed(seed)
    model = getattr(importlib.import_module(f"wespeaker.models.{module}"), name)(**args)
    gen = torch.Generator().manual_seed(seed)
    for key, t in model.state_dict().items():
        if key.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape, generator=gen))
        elif key.endswith("running_mean"):
            t.copy_(0.1 * torch.randn(t.shape, generator=gen))
    return model.eval(), {"model": name, "model_args": args}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wav-dir", required=True, help="folder searched for *.wav (16 kHz mono speech)")
    p.add_argument("--num-wavs", type=int, default=8, help="wavs used (the first in sorted order, one per folder)")
    p.add_argument("--models", nargs="*", default=list(ARCHS), choices=list(ARCHS),
                   help="WeSpeaker architectures (none: the front-end only)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(describe_machine())
    by_dir: dict[Path, Path] = {}
    for wav in sorted(Path(args.wav_dir).rglob("*.wav")):
        by_dir.setdefault(wav.parent, wav)  # different speakers first
    wavs = list(by_dir.values())[:args.num_wavs]
    audio = [sf.read(w, dtype="float32")[0] for w in wavs]
    print(f"{len(wavs)} wavs, {sum(len(a) for a in audio) / 16000:.1f} s, from {args.wav_dir}")

    ours = Frontend(kaldi_frontend(80))
    diffs = [np.abs(ours.fbank(a, 16000) - knf_fbank(a)) for a in audio]
    print(f"front-end: embspace Kaldi fbank vs kaldi-native-fbank (log-mel): max abs "
          f"{max(d.max() for d in diffs):.2e}, mean abs {np.concatenate([d.ravel() for d in diffs]).mean():.2e}")
    if not args.models:
        return 0
    feats = [knf_fbank(a) for a in audio]
    feats = [torch.from_numpy(f - f.mean(axis=0, keepdims=True))[None] for f in feats]

    from embspace.onnx_model import OnnxEncoder, export_onnx
    from embspace.torchscript_model import TorchScriptEncoder, export_torchscript

    print(f"\n{'model':<22} {'params':>7} {'|emb| max':>9} {'ws vs ours':>10} {'e2e max':>9} {'e2e 1-cos':>9} "
          f"{'onnx':>9} {'torchscript':>11}")
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        for i, name in enumerate(args.models):
            t0 = time.perf_counter()
            ws, cfg = wespeaker_model(name, i)
            torch.save(ws.state_dict(), Path(tmp) / "avg_model.pt")
            (Path(tmp) / "config.yaml").write_text(yaml.safe_dump(cfg))
            ckpt.save(import_wespeaker(Path(tmp) / "avg_model.pt", Path(tmp) / "config.yaml"), Path(tmp) / "m.pt")
            ours = load_encoder(Path(tmp) / "m.pt", torch.device("cpu"))
            export_onnx(Path(tmp) / "m.pt", Path(tmp) / "m.onnx")
            export_torchscript(Path(tmp) / "m.pt", Path(tmp) / "m.ts")
            onnx_enc, ts_enc = OnnxEncoder(Path(tmp) / "m.onnx", num_threads=args.threads), TorchScriptEncoder(Path(tmp) / "m.ts")
            api = embspace.load_model(Path(tmp) / "m.pt")
            scale = model_diff = e2e = onnx_diff = ts_diff = 0.0
            cos = 1.0  # least cosine over the wavs
            for x, wav in zip(feats, wavs):
                ref = ws(x)[-1]
                emb = ours(x)
                scale = max(scale, float(ref.abs().max()))
                model_diff = max(model_diff, float((emb - ref).abs().max()))
                onnx_diff = max(onnx_diff, float((onnx_enc(x) - emb).abs().max()))
                ts_diff = max(ts_diff, float((ts_enc(x) - emb).abs().max()))
                full = api.embed(wav)
                e2e = max(e2e, float(np.abs(full - ref[0].numpy()).max()))
                cos = min(cos, cosine(full, ref[0].numpy()))
            n = sum(t.numel() for t in ws.parameters()) / 1e6
            print(f"{name:<22} {n:6.2f}M {scale:9.3f} {model_diff:10.2e} {e2e:9.2e} {1 - cos:9.1e} {onnx_diff:9.2e} "
                  f"{ts_diff:11.2e}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
