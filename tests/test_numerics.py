"""Portable numerics: the training worker runs with the instruction-set dispatch pinned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from embspace.training.numerics import PORTABLE_ENV, apply_portable_env, portable_env

REPO = Path(__file__).resolve().parents[1]
PINNED = (*PORTABLE_ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _worker(tmp_path: Path, portable: bool, threads: int, **env_extra: str) -> subprocess.CompletedProcess:
    """Start ``embspace.bin.train``; it logs the numerics in effect, then stops at the missing cuts."""
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"portable_numerics: {'true' if portable else 'false'}\nmodel: {{type: ecapa}}\n")
    env = {k: v for k, v in os.environ.items() if k not in PINNED}
    env.update(PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", **env_extra)
    return subprocess.run([sys.executable, "-m", "embspace.bin.train", "--config", str(cfg), "--cuts",
                           str(tmp_path / "missing.jsonl.gz"), "--exp-dir", str(tmp_path / "exp"), "--device", "cpu",
                           "--num-threads", str(threads)], check=False, capture_output=True, text=True, env=env)


def test_portable_numerics_reach_the_worker_over_a_different_environment(tmp_path):
    import torch

    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("needs an x86 CPU with AVX2")
    # launched from an environment that asks for other code paths: the option wins in the worker
    proc = _worker(tmp_path, True, 1, ATEN_CPU_CAPABILITY="default", DNNL_MAX_CPU_ISA="SSE41", MKL_CBWR="AUTO",
                   OMP_NUM_THREADS="3")
    line = re.search(r"numerics: (.*)", proc.stdout)
    assert proc.returncode == 1 and line, proc.stdout + proc.stderr
    assert "ATen CPU capability AVX2, 1 threads" in line.group(1)
    for key, value in portable_env(1).items():
        assert f"{key}={value}" in line.group(1) or key == "MKL_NUM_THREADS"
    plain = re.search(r"numerics: (.*)", _worker(tmp_path, False, 1, ATEN_CPU_CAPABILITY="default").stdout)
    assert plain and "capability DEFAULT" in plain.group(1) and "MKL_CBWR" not in plain.group(1)


def test_portable_numerics_need_a_fixed_thread_count(tmp_path):
    proc = _worker(tmp_path, True, 0)
    assert proc.returncode == 1 and "numerics:" not in proc.stdout
    assert "train.yaml" in proc.stderr and "portable_numerics" in proc.stderr and "--num-threads" in proc.stderr


def test_setting_the_environment_after_torch_is_refused(monkeypatch):
    import torch  # noqa: F401  (imported: the libraries have read their settings)

    for key in PINNED:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(RuntimeError, match="before the environment could be set"):
        apply_portable_env(2)
    env: dict[str, str] = {}
    assert apply_portable_env(2, env) == env and env["OMP_NUM_THREADS"] == "2"


def test_recipe_switch_exports_the_same_settings():
    """path.sh's EMBSPACE_PORTABLE_NUMERICS=true exports what the training option sets."""
    path_sh = REPO / "egs" / "mini" / "v1" / "path.sh"
    out = subprocess.run(["bash", "-c", f'. "{path_sh}" >/dev/null && env'], capture_output=True, text=True,
                         env={**{k: v for k, v in os.environ.items() if k not in PINNED},
                              "EMBSPACE_PORTABLE_NUMERICS": "true"}, check=True).stdout
    exported = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert {k: exported.get(k) for k in PORTABLE_ENV} == PORTABLE_ENV
