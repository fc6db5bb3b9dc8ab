"""Kokoro-82M (int8 ONNX) synthesis real-time factor with 1 and 2 onnxruntime threads, side by side.

Run: ``python bench/kokoro_rtf.py --kokoro-dir data/kokoro`` (about 1-2 min on 2 CPU cores; needs the
``kokoro`` extra; ``--quick`` for a smoke run).

Measured: the whole ``KokoroBackend.synthesize`` path (espeak G2P, model, silence trim, soxr to 16 kHz)
on a fixed set of English sentences with a stock voice pack, one backend per thread count, called in
alternation so that a change in the machine's load hits all alike. RTF = time / duration of the
16 kHz audio produced (lower is better), as wall time and as process CPU time (user + system: what
a loaded machine inflates least). G2P and resampling are also timed alone. Nothing is asserted.
With an onnxruntime that has the CUDA provider (``onnxruntime-gpu``), ``--device cuda`` times that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.inside import build_backend  # noqa: E402
from embspace.inside.kokoro_voices import pypi_voice_packs  # noqa: E402
from embspace.utils.machine import describe_machine  # noqa: E402

SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
]


def timed(fn) -> tuple[float, float, object]:
    """Wall and CPU seconds of ``fn()`` and its result."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kokoro-dir", default=None, help="model folder (default $KOKORO_JA_CACHE or ~/.cache)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="onnxruntime thread counts to compare")
    p.add_argument("--rounds", type=int, default=2, help="passes over the sentences per thread count")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--quick", action="store_true", help="two sentences, one round, one thread count")
    args = p.parse_args(argv)
    sentences = SENTENCES
    if args.quick:
        sentences, args.rounds, args.threads = SENTENCES[:2], 1, args.threads[:1]
    t_start = time.perf_counter()
    print(describe_machine())
    style = pypi_voice_packs()["jf_alpha"]
    backends = {n: build_backend("kokoro", kokoro_dir=args.kokoro_dir, num_threads=n, device=args.device)
                for n in args.threads}
    print(f"providers: {backends[args.threads[0]].providers}; {len(sentences)} sentences x {args.rounds} round(s)")
    for b in backends.values():  # warm-up (session allocations, espeak start-up)
        b.synthesize(style, sentences[:1], "en")
    wall: dict[int, list[float]] = {n: [] for n in args.threads}
    cpu: dict[int, list[float]] = {n: [] for n in args.threads}
    audio_s = 0.0
    for _ in range(args.rounds):
        for text in sentences:
            for n, b in backends.items():
                w, c, out = timed(lambda b=b: b.synthesize(style, [text], "en"))
                secs = len(out[0]) / 16000
                wall[n].append(w / secs)
                cpu[n].append(c / secs)
            audio_s += secs
    b1 = backends[args.threads[0]]
    g2p_w, _, _ = timed(lambda: b1.g2p(sentences, "en-us"))
    w24 = b1.synthesize_24k(style, sentences[:1], "en")[0]
    from embspace.inside.backends.kokoro import to_output_rate

    rs_w, _, _ = timed(lambda: [to_output_rate(w24) for _ in range(20)])
    print(f"\nKokoro synthesis RTF (lower is better; median over {len(wall[args.threads[0]])} sentences, "
          f"{audio_s / args.rounds:.1f} s of audio per round)")
    print(f"  {'threads':>7} {'RTF wall':>9} {'RTF CPU':>9} {'wall speed-up vs ' + str(args.threads[0]) + 't':>22}")
    base = statistics.median(wall[args.threads[0]])
    for n in args.threads:
        mw, mc = statistics.median(wall[n]), statistics.median(cpu[n])
        print(f"  {n:>7} {mw:9.3f} {mc:9.3f} {base / mw:21.2f}x")
    print(f"G2P (espeak, {len(sentences)} sentences in one call): {g2p_w * 1000:.1f} ms; "
          f"soxr 24->16 kHz: RTF {rs_w / 20 / (len(w24) / 24000):.5f}")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s, load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
