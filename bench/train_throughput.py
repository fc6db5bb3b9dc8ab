"""Training step throughput (utterances/s) of a small ECAPA-TDNN through the project's Trainer.

Run: ``python bench/train_throughput.py`` (about 1.5 min on 2 CPU cores; ``--quick`` for a smoke run).

CPU: the same global batch of random 80-dim fbank crops (default 32 x 200 frames) trained by
1 process with 1 thread, by 2 processes under torchrun (gloo, 1 thread each, 16 utterances per rank)
and by 1 process with 2 threads, one after the other in one run; the speed-up is against the first.
GPU (when CUDA is available): one process, ECAPA C=512, fp32 vs bf16 autocast vs fp16 autocast with
GradScaler (the Trainer's ``amp`` option). The step time is the median time between the starts of
consecutive steps after warm-up (a step = forward, backward, DDP all-reduce, the stats all-reduce,
optimizer step). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a source checkout that is not pip-installed

from embspace.utils.machine import describe_machine  # noqa: E402
from embspace.losses import build_loss  # noqa: E402
from embspace.models import build_model, count_parameters  # noqa: E402
from embspace.training.distributed import cleanup, init_distributed  # noqa: E402
from embspace.training.speaker import SpeakerNet  # noqa: E402
from embspace.training.trainer import Trainer, TrainerOptions  # noqa: E402

NUM_CLASSES = 1000
FEAT_DIM = 80




def measure(args: argparse.Namespace, amp: str = "off") -> dict:
    """Train ``warmup + steps + 1`` steps with the Trainer in this process (a torchrun worker or not)."""
    torch.set_num_threads(args.threads)
    info = init_distributed(args.device)
    try:
        torch.manual_seed(0)
        if args.global_batch % info.world_size:
            raise SystemExit(f"--global-batch {args.global_batch} is not a multiple of {info.world_size} processes")
        local_batch = args.global_batch // info.world_size
        model_cfg = {"type": "ecapa", "feat_dim": FEAT_DIM, "embed_dim": 192, "channels": args.channels}
        head = build_loss({"type": "aam", "margin": 0.2, "scale": 32, "embed_dim": 192, "num_classes": NUM_CLASSES})
        network = SpeakerNet(build_model(model_cfg), head)
        optimizer = torch.optim.AdamW(network.parameters(), lr=0.0, weight_decay=1e-4)
        total = args.warmup + args.steps + 1
        gen = torch.Generator().manual_seed(1000 + info.rank)
        pool = [(torch.randn(local_batch, args.frames, FEAT_DIM, generator=gen) - 5.0,
                 torch.randint(0, NUM_CLASSES, (local_batch,), generator=gen)) for _ in range(2)]
        marks: list[float] = []

        def on_step(epoch: int, batch: int, num_batches: int) -> dict:
            if info.device.type == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())
            return {}

        exp = Path(args.exp_dir) / amp
        trainer = Trainer(network, optimizer, lambda epoch, start: (pool[i % 2] for i in range(start, total)), total,
                          lambda step: 1e-3, exp, info, TrainerOptions(epochs=1, log_every=0, amp=amp),
                          on_step=on_step)
        trainer.fit()
        step_s = statistics.median(b - a for a, b in zip(marks[args.warmup:], marks[args.warmup + 1:]))
        return {"world_size": info.world_size, "threads": args.threads, "amp": amp, "device": str(info.device),
                "global_batch": args.global_batch, "params": count_parameters(network.encoder),
                "step_s": step_s, "utt_per_s": args.global_batch / step_s, "is_main": info.is_main}
    finally:
        cleanup()


def run_cpu_config(args: argparse.Namespace, nproc: int, threads: int, exp_dir: str) -> dict:
    """One CPU configuration in fresh processes (torchrun for any process count)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           str(Path(__file__).resolve()), "--worker", "--device", "cpu", "--threads", str(threads),
           "--exp-dir", exp_dir, "--channels", str(args.channels), "--global-batch", str(args.global_batch),
           "--frames", str(args.frames), "--warmup", str(args.warmup), "--steps", str(args.steps)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not results:
        raise SystemExit(f"benchmark worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return results[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=128, help="ECAPA channels on CPU (GPU: 512)")
    p.add_argument("--global-batch", type=int, default=32, help="utterances per step over all processes (CPU)")
    p.add_argument("--frames", type=int, default=200, help="frames per training crop")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=6, help="timed steps")
    p.add_argument("--quick", action="store_true", help="tiny model and batch: a smoke run")
    p.add_argument("--no-gpu", action="store_true")
    # internal: one torchrun worker
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--exp-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.channels, args.global_batch, args.frames, args.warmup, args.steps = 32, 8, 100, 1, 3
    if args.worker:
        result = measure(args)
        if result["is_main"]:
            print("RESULT " + json.dumps(result), flush=True)
        return 0

    t_start = time.perf_counter()
    print(describe_machine())
    print(f"\nCPU: ECAPA C={args.channels} + AAM head ({NUM_CLASSES} classes), AdamW, global batch "
          f"{args.global_batch} x {args.frames} frames, median of {args.steps} steps after {args.warmup} warm-up")
    print(f"  {'processes x threads':<20} {'per rank':>8} {'s/step':>8} {'utt/s':>8} {'speed-up':>9}")
    with tempfile.TemporaryDirectory(prefix="embspace-bench-") as tmp:
        base = None
        for nproc, threads in ((1, 1), (2, 1), (1, 2)):
            r = run_cpu_config(args, nproc, threads, os.path.join(tmp, f"cpu{nproc}x{threads}"))
            base = base or r["utt_per_s"]
            print(f"  {f'{nproc} x {threads}':<20} {args.global_batch // nproc:>8} {r['step_s']:8.3f} "
                  f"{r['utt_per_s']:8.1f} {r['utt_per_s'] / base:8.2f}x", flush=True)
        if torch.cuda.is_available() and not args.no_gpu:
            gpu = argparse.Namespace(**{**vars(args), "device": "cuda", "threads": max(1, torch.get_num_threads()),
                                        "exp_dir": os.path.join(tmp, "gpu")})
            if not args.quick:
                gpu.channels, gpu.global_batch, gpu.warmup, gpu.steps = 512, 128, 5, 20
            print(f"\nGPU ({torch.cuda.get_device_name(0)}): ECAPA C={gpu.channels}, batch {gpu.global_batch} x "
                  f"{gpu.frames} frames, 1 process")
            print(f"  {'precision':<22} {'s/step':>8} {'steps/s':>8} {'utt/s':>8} {'vs fp32':>8}")
            base = None
            for amp, label in (("off", "fp32"), ("bf16", "bf16 autocast"), ("fp16", "fp16 autocast+GradScaler")):
                r = measure(gpu, amp)
                base = base or r["step_s"]
                print(f"  {label:<22} {r['step_s']:8.4f} {1 / r['step_s']:8.2f} {r['utt_per_s']:8.0f} "
                      f"{base / r['step_s']:7.2f}x", flush=True)
        else:
            print("\nGPU: no CUDA device, skipped")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s, load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
