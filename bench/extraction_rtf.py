"""Extraction real-time factor (compute time / audio duration) of the encoders at batch 1.

Run: ``python bench/extraction_rtf.py`` (about 1 min on 2 CPU cores; ``--quick`` for a smoke run).

Measured: the encoder forward on mean-normalised 80-dim fbank (random values, 100 frames per
second of audio) in eval mode under ``torch.inference_mode``, for ECAPA-TDNN C=512, ResNet34
(m_channels 32) and the x-vector TDNN, on 5 s and 20 s inputs; on CPU with 1 and 2 threads side
by side, and on the GPU (fp32 and bf16 autocast, warmed up, timed between ``cuda.synchronize``)
when CUDA is available; ECAPA and ResNet34 also through ONNX Runtime (the graph of
``embspace.bin.export_onnx``) beside PyTorch at each thread count. The fbank computation itself is timed once (lhotse, 1 thread). Each figure
is the median over repeats; nothing is asserted. RTF < 1 is faster than real time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.utils.machine import describe_machine  # noqa: E402
from embspace.models import build_model, count_parameters  # noqa: E402

MODELS = {
    "ECAPA C=512": {"type": "ecapa", "feat_dim": 80, "embed_dim": 192, "channels": 512},
    "ResNet34 m32": {"type": "resnet", "feat_dim": 80, "embed_dim": 256, "m_channels": 32, "layers": "resnet34"},
    "x-vector": {"type": "xvector", "feat_dim": 80, "embed_dim": 512},
}
FRAMES_PER_S = 100
ONNX_MODELS = ("ECAPA C=512", "ResNet34 m32")




def median_time(fn, min_time: float, min_reps: int, max_reps: int, sync=lambda: None) -> float:
    """Median seconds of ``fn()`` after one warm-up call; repeats until ``min_time`` is spent."""
    fn()
    sync()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < min_time):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved_medians(fns: list, min_time: float, min_reps: int, max_reps: int) -> list[float]:
    """Median seconds of each of ``fns``, timed in alternation (so that a change in the machine's
    load hits all of them alike), after one warm-up call each."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < max_reps and (len(times[0]) < min_reps or time.perf_counter() - start < min_time * len(fns)):
        for fn, acc in zip(fns, times):
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def fbank_rtf(seconds: float, min_time: float) -> float:
    """RTF of lhotse fbank (80 mel, 1 thread) on ``seconds`` of noise."""
    from embspace.features.fbank import make_extractor

    extractor = make_extractor(80)
    audio = np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32) * 0.1
    return median_time(lambda: extractor.extract(audio, 16000), min_time, 2, 20) / seconds


def cpu_table(models: dict[str, torch.nn.Module], lengths: list[float], threads: list[int], min_time: float) -> None:
    print(f"\nCPU, batch 1, fp32: RTF (lower is better) with {' / '.join(map(str, threads))} thread(s), "
          "timed in alternation")
    print(f"  {'model':<14} {'input':>6} " + " ".join(f"{f'RTF {n}t':>10}" for n in threads) + f" {'speed-up':>9}")
    for name, model in models.items():
        for seconds in lengths:
            x = torch.randn(1, int(seconds * FRAMES_PER_S), 80)

            def forward_with(n: int, model=model, x=x):
                def run():
                    torch.set_num_threads(n)
                    with torch.inference_mode():
                        model(x)
                return run

            # the thread counts side by side: alternating calls on the same input
            rtf = [t / seconds for t in interleaved_medians([forward_with(n) for n in threads], min_time, 2, 50)]
            ratio = f"{rtf[0] / rtf[-1]:8.2f}x" if len(rtf) > 1 else ""
            print(f"  {name:<14} {seconds:>5.0f}s " + " ".join(f"{r:10.4f}" for r in rtf) + f" {ratio:>9}")


def onnx_table(models: dict[str, torch.nn.Module], lengths: list[float], threads: list[int], min_time: float) -> None:
    """PyTorch vs ONNX Runtime (``embspace.bin.export_onnx``'s graph) at each thread count, in alternation."""
    import tempfile

    from embspace.onnx_model import OnnxEncoder, export_onnx
    from embspace.training import checkpoint as ckpt

    print(f"\nCPU, batch 1, fp32: PyTorch vs ONNX Runtime, {' / '.join(map(str, threads))} thread(s), "
          "timed in alternation")
    cols = [f"{kind} {n}t" for n in threads for kind in ("torch", "onnx")]
    print(f"  {'model':<14} {'input':>6} " + " ".join(f"{c:>10}" for c in cols) + "  onnx speed-up")
    with tempfile.TemporaryDirectory() as tmp:
        for name, model in models.items():
            if name not in ONNX_MODELS:
                continue
            ckpt.save({"model": model.state_dict(), "model_config": MODELS[name]}, Path(tmp) / "m.pt")
            export_onnx(Path(tmp) / "m.pt", Path(tmp) / "m.onnx")
            sessions = {n: OnnxEncoder(Path(tmp) / "m.onnx", num_threads=n) for n in threads}
            for seconds in lengths:
                x = torch.randn(1, int(seconds * FRAMES_PER_S), 80)

                def torch_with(n: int, model=model, x=x):
                    def run():
                        torch.set_num_threads(n)
                        with torch.inference_mode():
                            model(x)
                    return run

                fns = [f for n in threads for f in (torch_with(n), lambda n=n, x=x: sessions[n](x))]
                rtf = [t / seconds for t in interleaved_medians(fns, min_time, 2, 50)]
                gains = " ".join(f"{rtf[2 * i] / rtf[2 * i + 1]:.2f}x" for i in range(len(threads)))
                print(f"  {name:<14} {seconds:>5.0f}s " + " ".join(f"{r:10.4f}" for r in rtf) + f"  {gains}")


def gpu_table(models: dict[str, torch.nn.Module], lengths: list[float], min_time: float) -> None:
    device = torch.device("cuda")
    print(f"\nGPU ({torch.cuda.get_device_name(0)}), batch 1: RTF fp32 / bf16 autocast")
    print(f"  {'model':<14} {'input':>6} {'RTF fp32':>10} {'RTF bf16':>10} {'bf16 gain':>9}")
    for name, model in models.items():
        model = model.to(device)
        for seconds in lengths:
            x = torch.randn(1, int(seconds * FRAMES_PER_S), 80, device=device)
            rtf = []
            for dtype in (None, torch.bfloat16):
                ctx = torch.autocast("cuda", dtype=dtype) if dtype else nullcontext()

                def run():
                    with torch.inference_mode(), ctx:
                        model(x)

                for _ in range(3):  # cuDNN autotuning, allocator warm-up
                    run()
                rtf.append(median_time(run, min_time, 10, 200, torch.cuda.synchronize) / seconds)
            print(f"  {name:<14} {seconds:>5.0f}s {rtf[0]:10.5f} {rtf[1]:10.5f} {rtf[0] / rtf[1]:8.2f}x")
        model.cpu()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lengths", type=float, nargs="+", default=[5.0, 20.0], help="input durations in seconds")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU thread counts to compare")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds spent timing each figure (at least 2 runs)")
    p.add_argument("--quick", action="store_true", help="short inputs, one thread count: a smoke run")
    p.add_argument("--no-gpu", action="store_true")
    p.add_argument("--no-onnx", action="store_true", help="skip the PyTorch vs ONNX Runtime table")
    args = p.parse_args(argv)
    if args.quick:
        args.lengths, args.threads, args.min_time = [2.0], [1], 0.0
    t_start = time.perf_counter()
    print(describe_machine())
    torch.manual_seed(0)
    models = {name: build_model(cfg).eval() for name, cfg in MODELS.items()}
    for name, model in models.items():
        print(f"  {name}: {count_parameters(model) / 1e6:.2f}M parameters")
    torch.set_num_threads(1)
    print(f"fbank (lhotse, 80 mel, 1 thread) on {max(args.lengths):.0f}s: RTF "
          f"{fbank_rtf(max(args.lengths), args.min_time):.4f}")
    cpu_table(models, args.lengths, args.threads, args.min_time)
    if not args.no_onnx:
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError:
            print("\nONNX: onnx/onnxruntime not installed, skipped")
        else:
            onnx_table(models, args.lengths, args.threads, args.min_time)
    if torch.cuda.is_available() and not args.no_gpu:
        gpu_table(models, args.lengths, args.min_time)
    else:
        print("\nGPU: no CUDA device, skipped")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s, load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
