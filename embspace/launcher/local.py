"""Local launcher (``utils/run.py``): run the tasks of ``JOB=a:b`` as parallel ``bash`` processes.

``--max-jobs-run`` caps parallelism (default: the CPUs this process may use; with ``--gpu N`` and
GPUs found, the number of GPUs // N). ``--num-threads`` sets OMP/MKL/OPENBLAS_NUM_THREADS per task.
``--gpu N`` gives each task N GPUs through CUDA_VISIBLE_DEVICES, taken from a pool of free GPUs
(round-robin when more tasks run than GPUs allow). GPUs are those listed in an existing
CUDA_VISIBLE_DEVICES (it restricts us), else those of ``nvidia-smi -L``; with none, tasks get
CUDA_VISIBLE_DEVICES="" and a warning. ``--mem``, ``--time``, ``--config`` and site options are
accepted and ignored (so ``cmd.sh`` can switch launchers freely).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from embspace.launcher.common import (Spec, footer, header, launcher_main, nothing_to_do, parse_args, pick_tasks,
                                      report)

PROG = "run.py"
KNOWN = {"max_jobs_run", "num_threads", "gpu", "mem", "time"}


def cpu_count() -> int:
    """CPUs usable by this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """GPU ids to hand out: CUDA_VISIBLE_DEVICES entries if set, else ``nvidia-smi -L``, else none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


class GpuPool:
    """Hands out ``per_task`` GPUs per task: free ones first, round-robin when all are busy."""

    def __init__(self, gpus: list[str], per_task: int):
        self.gpus, self.per_task = gpus, per_task
        self.free = list(gpus)
        self.cursor = 0
        self.lock = threading.Lock()

    def take(self) -> tuple[list[str], list[str]]:
        """Return (ids for the task, ids to give back)."""
        with self.lock:
            if len(self.free) >= self.per_task:
                got, self.free = self.free[: self.per_task], self.free[self.per_task:]
                return got, got
            got = [self.gpus[(self.cursor + j) % len(self.gpus)] for j in range(self.per_task)]
            self.cursor = (self.cursor + self.per_task) % len(self.gpus)
            return got, []

    def give(self, ids: list[str]) -> None:
        """Return GPUs taken from the free list."""
        with self.lock:
            self.free.extend(ids)


def run_task(spec: Spec, task: int, pool: GpuPool | None) -> int:
    """Run one task with its log header and footer; return its exit code."""
    log = Path(spec.log_for(task))
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = spec.command_for(task)
    env = dict(os.environ)
    if "num_threads" in spec.given:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(spec.num_threads)
    taken: list[str] = []
    if spec.gpu > 0:
        if pool is None:
            env["CUDA_VISIBLE_DEVICES"] = ""
        else:
            ids, taken = pool.take()
            env["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
    t0 = time.time()
    try:
        with open(log, "w", encoding="utf-8") as f:  # a progress log, streamed, so not atomic
            f.write(header(cmd))
            f.flush()
            try:
                rc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=subprocess.STDOUT, env=env).returncode
            except OSError as e:
                f.write(f"{PROG}: cannot run bash: {e}\n")
                rc = 127
            if rc < 0:  # killed by a signal: report it the way bash does
                rc = 128 - rc
            f.write(footer(rc, int(time.time() - t0), spec.num_threads))
    finally:
        if taken and pool is not None:
            pool.give(taken)
    return rc


def run_local(spec: Spec, tasks: list[int]) -> None:
    """Run ``tasks`` with bounded parallelism."""
    pool = None
    if spec.gpu > 0:
        gpus = visible_gpus()
        if gpus:
            pool = GpuPool(gpus, spec.gpu)
        else:
            print(f"{PROG}: warning: --gpu {spec.gpu} but no GPU found; tasks get CUDA_VISIBLE_DEVICES=\"\"",
                  file=sys.stderr)
    if spec.max_jobs_run is not None:
        workers = spec.max_jobs_run
    elif pool is not None:
        workers = max(1, len(pool.gpus) // spec.gpu)
    else:
        workers = cpu_count()
    workers = max(1, min(workers, len(tasks)))
    with ThreadPoolExecutor(max_workers=workers) as ex:
        list(ex.map(lambda t: run_task(spec, t, pool), tasks))


@launcher_main(PROG)
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``utils/run.py``."""
    spec = parse_args(sys.argv[1:] if argv is None else argv, PROG)
    for name in sorted(set(spec.given) - KNOWN):
        print(f"{PROG}: warning: ignoring option --{name.replace('_', '-')}", file=sys.stderr)
    tasks = pick_tasks(spec)
    if not tasks:
        return nothing_to_do(PROG, spec)
    run_local(spec, tasks)
    return report(PROG, spec, tasks)


if __name__ == "__main__":
    sys.exit(main())
