"""SEED enhancement throughput next to a plain matmul chain of the same shapes.

For D = 192 and 256 and batches 1, 256 and 4096: embeddings/s of single-step enhancement
(normalise, noise to t* = 50, one network pass, clamp; the authors' network: width 2D, 3 residual
blocks) and the FLOP rate this means, counting the matrix products of the network
(D→2D, 2 per block 2D→2D, 2D→D); and, in the same run, the FLOP rate of a plain torch matmul chain
of exactly those shapes (no bias, norm or activation). Prints ``ratio <x>`` = enhancement FLOP
rate / matmul FLOP rate at the largest batch and D = 256 (the goal is >= 0.5).

Run: ``python bench/seed.py`` (about 30 s on 2 cores; ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.seed.enhance import Enhancer  # noqa: E402
from embspace.seed.model import SeedMLP  # noqa: E402
from embspace.seed.schedule import NoiseSchedule  # noqa: E402
from embspace.utils.machine import describe_machine  # noqa: E402


def _median_time(fn, min_time: float, min_reps: int = 3) -> float:
    """Median seconds per call over at least ``min_reps`` calls and ``min_time`` seconds (after a warm-up)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dims", type=int, nargs="+", default=[192, 256])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 256, 4096])
    p.add_argument("--min-time", type=float, default=1.5, help="seconds timed per configuration")
    p.add_argument("--quick", action="store_true", help="smoke run: short timings")
    args = p.parse_args()
    min_time = 0.1 if args.quick else args.min_time
    print(describe_machine())
    print(f"torch threads {torch.get_num_threads()}")
    print(f"{'D':>4} {'batch':>6} {'emb/s':>12} {'GFLOP/s':>9} {'matmul GFLOP/s':>15} {'ratio':>6}")
    torch.manual_seed(0)
    last = None
    for dim in args.dims:
        model = SeedMLP(dim)
        for prm in model.parameters():  # trained-like weights (the zero-initialised layers would be trivially fast)
            torch.nn.init.normal_(prm, std=0.02)
        enhancer = Enhancer(model, NoiseSchedule(), "sqrt_d")
        w = model.width
        shapes = [(dim, w)] + [(w, w)] * (2 * len(model.blocks)) + [(w, dim)]
        weights = [torch.randn(a, b) * 0.02 for a, b in shapes]
        flops = 2 * sum(a * b for a, b in shapes)  # per embedding
        for batch in args.batches:
            x = torch.randn(batch, dim)
            noise = torch.randn(1, batch, dim)

            def chain() -> torch.Tensor:
                h = x
                for m in weights:
                    h = h @ m
                return h

            with torch.inference_mode():
                t_enh = _median_time(lambda: enhancer(x, noise, 50), min_time)
                t_mm = _median_time(chain, min_time)
            rate, ref = flops * batch / t_enh, flops * batch / t_mm
            print(f"{dim:>4} {batch:>6} {batch / t_enh:>12,.0f} {rate / 1e9:>9.2f} {ref / 1e9:>15.2f} {rate / ref:>6.2f}")
            last = rate / ref
    print(f"ratio {last:.2f}")


if __name__ == "__main__":
    main()
