"""Encoder training under ``torchrun --standalone --nproc_per_node 2`` (CPU, gloo): it completes, and a
run SIGKILLed after a mid-training checkpoint, then rerun, ends with the same weights, bit for bit."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from embspace.training import checkpoint as ckpt
from embspace.training.sampler import SpeakerBalancedSampler
from tests.conftest import REPO
from tests.test_training import TINY_CONFIG

# 12 global batches per epoch -> 6 per rank; 3 epochs = 18 steps, a checkpoint after every step.
DDP_CONFIG = dict(TINY_CONFIG, data=dict(TINY_CONFIG["data"], batches_per_epoch=12))
STEPS_PER_EPOCH, EPOCHS = 6, 3
KILL_AT_STEP = 8  # mid epoch 2

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or sys.platform != "linux",
                                reason="needs torch.distributed (gloo) on Linux")


def test_ranks_share_one_global_list_and_drop_the_remainder():
    """7 global batches over 2 ranks: 3 each (equal step counts, or DDP would hang), batch 7 dropped."""
    labels = np.repeat(np.arange(6), 4)
    full = SpeakerBalancedSampler(labels, 3, 2, seed=1, num_batches=6)
    shards = [SpeakerBalancedSampler(labels, 3, 2, seed=1, num_batches=7, rank=r, world_size=2) for r in (0, 1)]
    assert [len(s) for s in shards] == [3, 3]
    for s in shards:
        s.set_epoch(4)
    local = [list(s) for s in shards]
    assert [b for pair in zip(*local) for b in pair] == full.epoch_batches(4)  # step k: batches 2k, 2k+1
    shards[1].set_epoch(4, start_batch=2)
    assert list(shards[1]) == local[1][2:]
    assert len(SpeakerBalancedSampler(labels, 3, 2, num_batches=1, rank=1, world_size=2)) == 1


def _torchrun(config: dict, cuts: Path, exp: Path) -> subprocess.Popen:
    """Start a 2-process CPU training run in a process group of its own; stdout and stderr merged."""
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "conf.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
               PYTHONWARNINGS="ignore")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "embspace.bin.train", "--config", str(exp / "conf.yaml"), "--cuts", str(cuts),
           "--exp-dir", str(exp), "--device", "cpu", "--num-threads", "1"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, out
    return out


def _processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text``."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and p.name != str(os.getpid()):
            try:
                if text in (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


def _epoch_means(out: str) -> dict[int, dict]:
    return {int(m.group(1)): json.loads(m.group(2)) for m in re.finditer(r"epoch (\d+) done in [\d.]+s: (\{.*\})", out)}


@pytest.fixture(scope="module")
def reference_run(tiny_data, tmp_path_factory) -> tuple[Path, str]:
    """An uninterrupted 2-process run: (exp dir, its output)."""
    exp = tmp_path_factory.mktemp("ddp") / "ref"
    return exp, _finish(_torchrun(DDP_CONFIG, tiny_data["train_cuts"], exp))


def test_two_process_training_completes(reference_run):
    exp, out = reference_run
    assert "world size 2" in out and f"{STEPS_PER_EPOCH} batches/epoch x {EPOCHS} epochs" in out
    assert f"epoch {EPOCHS} done" in out and f"step {STEPS_PER_EPOCH * EPOCHS} " in out
    assert f"step {STEPS_PER_EPOCH * EPOCHS + 1} " not in out
    assert [e for e, _ in ckpt.epoch_models(exp / "models")] == list(range(1, EPOCHS + 1))
    latest = ckpt.load(exp / "models" / "checkpoint_latest.pt")
    assert latest["world_size"] == 2 and latest["global_step"] == STEPS_PER_EPOCH * EPOCHS
    assert isinstance(latest["rng"], list) and len(latest["rng"]) == 2  # one RNG state per rank
    means = _epoch_means(out)
    assert sorted(means) == [1, 2, 3] and all(set(m) == {"loss", "acc", "same_speaker_cosine"} for m in means.values())


def test_sigkill_then_resume_matches_uninterrupted_run(reference_run, tiny_data, tmp_path):
    ref, ref_out = reference_run
    exp = tmp_path / "killed"
    proc = _torchrun(DDP_CONFIG, tiny_data["train_cuts"], exp)
    seen = []
    for line in proc.stdout:  # kill the whole torchrun process group as soon as rank 0 logs the step
        seen.append(line)
        if f" step {KILL_AT_STEP} " in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "".join(seen)

    # torchrun starts its workers in sessions of their own: they must die with it, not train on
    deadline = time.time() + 20
    while _processes_mentioning(str(exp)) and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(str(exp)), "workers outlived the killed torchrun"

    state = ckpt.load(exp / "models" / "checkpoint_latest.pt")
    assert STEPS_PER_EPOCH < state["global_step"] < STEPS_PER_EPOCH * EPOCHS, \
        "the run must be killed after a mid-training checkpoint for this test to mean anything"
    assert state["batch_in_epoch"] > 0 and not (exp / "models" / f"model_{EPOCHS}.pt").exists()

    out = _finish(_torchrun(DDP_CONFIG, tiny_data["train_cuts"], exp))
    assert "resumed from" in out and f"step {state['global_step'] + 1} " in out
    assert f"step {state['global_step']} " not in out  # no step is redone
    for e in range(1, EPOCHS + 1):
        a = ckpt.load(ref / "models" / f"model_{e}.pt")["model"]
        b = ckpt.load(exp / "models" / f"model_{e}.pt")["model"]
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), f"epoch {e} {k} differs after resume"
    # the epoch statistics of the resumed epoch include the batches run before the kill
    assert _epoch_means(out)[state["epoch"] + 1] == _epoch_means(ref_out)[state["epoch"] + 1]
