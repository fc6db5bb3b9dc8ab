"""utils/slurm.py on a real Slurm cluster (start one with .ci/start_slurm.sh); skipped without one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from embspace.launcher.common import log_status

ROOT = Path(__file__).resolve().parents[1]
SLURM = ROOT / "utils" / "slurm.py"


def _sinfo(fmt: str) -> str | None:
    if shutil.which("sinfo") is None:
        return None
    try:
        r = subprocess.run(["sinfo", "-h", "-o", fmt], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


pytestmark = pytest.mark.slurm  # skipped without a controller; an error in CI (tests/conftest.py)


def slurm(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SLURM), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_array_failure_and_rerun_of_failed(tmp_path: Path) -> None:
    odd = "lo g/it's \"x\""
    r = slurm(tmp_path, "-tc", "2", "JOB=1:3", f"{odd}/t.JOB.log", "bash", "-c",
              'echo "task JOB on $(hostname)"; [ JOB != 2 ]')
    assert r.returncode == 1
    assert f"slurm.py: 1 / 3 failed, log is in {odd}/t.*.log" in r.stderr
    assert f"{odd}/t.2.log (code 1)" in r.stderr
    logs = [tmp_path / odd / f"t.{j}.log" for j in (1, 2, 3)]
    assert [log_status(p) for p in logs] == [0, 1, 0]
    lines = logs[2].read_text().splitlines()
    assert lines[0] == "# bash -c 'echo \"task 3 on $(hostname)\"; [ 3 != 2 ]'"
    assert lines[1].startswith("# Started at ") and any(x.startswith("task 3 on ") for x in lines)
    assert (tmp_path / odd / "q" / "t.sh").is_file()

    before = {p: p.read_text() for p in (logs[0], logs[2])}
    r = slurm(tmp_path, "--pick", "failed", "JOB=1:3", f"{odd}/t.JOB.log", "echo", "again", "JOB")
    assert r.returncode == 0, r.stderr
    assert "again 2" in logs[1].read_text() and log_status(logs[1]) == 0
    assert {p: p.read_text() for p in before} == before


def test_single_job_options(tmp_path: Path) -> None:
    r = slurm(tmp_path, "--num-threads", "2", "--mem", "100M", "--time", "5", "l o g.log",
              "bash", "-c", 'echo "threads=$OMP_NUM_THREADS cpus=$SLURM_CPUS_PER_TASK"')
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "l o g.log").read_text()
    assert "threads=2 cpus=2" in text
    assert re.search(r"^# Accounting: time=\d+ threads=2$", text, re.M), text


def test_gpu_refused_without_gpus(tmp_path: Path) -> None:
    if any(g not in ("(null)", "") for g in (_sinfo("%G") or "").split()):
        pytest.skip("this cluster has GPU gres")
    r = slurm(tmp_path, "--gpu", "1", "JOB=1:2", "log/g.JOB.log", "nvidia-smi")
    assert r.returncode == 1
    assert "sbatch refused the job" in r.stderr and "--gres=gpu:1" in r.stderr
    assert "gres" in r.stderr.split("--gres=gpu:1", 1)[1].lower()
    assert not (tmp_path / "log" / "g.1.log").exists()


def test_multi_node_training_meets_at_one_rendezvous(tiny_data, tmp_path: Path) -> None:
    """steps/train.sh --nnodes 2 through utils/slurm.py: one job of two tasks (on this one-node cluster
    the site config maps --nodes to --ntasks), srun starts torchrun in each, and the two meet at the
    c10d rendezvous: one training of world size 2, logged, averaged."""
    import os
    import socket

    import yaml

    from tests.test_training import TINY_CONFIG

    conf = tmp_path / "two_tasks.conf"
    conf.write_text("command sbatch --export=PATH,PYTHONPATH\noption nodes=* --ntasks $0\n"
                    "default gpu=0\noption gpu=0\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY_CONFIG))
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    exp = tmp_path / "exp"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    r = subprocess.run(["bash", str(ROOT / "steps" / "train.sh"), "--cmd", f"{sys.executable} {SLURM} --config {conf}",
                        "--nnodes", "2", "--rdzv-port", str(port), "--device", "cpu", "--num-avg", "1", str(cfg),
                        str(tiny_data["train_cuts"]), str(exp)], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    log = (exp / "train.log").read_text() if (exp / "train.log").exists() else ""
    assert r.returncode == 0, r.stderr[-2000:] + log[-3000:]
    assert "srun --kill-on-bad-exit=1 torchrun --nnodes 2" in log and "world size 2" in log
    assert (exp / "models" / "avg_model.pt").is_file()
