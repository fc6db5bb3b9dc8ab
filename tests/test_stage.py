"""Stage markers: skip when unchanged, rerun on a changed option or input, no marker on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def _run_stage(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "embspace.bin.run_stage", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path)


def test_skip_rerun_and_failure(tmp_path):
    (tmp_path / "in.txt").write_text("a\n")
    counter = tmp_path / "count"
    cmd = ["--", "bash", "-c", f"echo x >> '{counter}'; cp in.txt out.txt"]
    base = ["--marker", "done/s1", "--inputs", "in.txt", "--outputs", "out.txt"]
    assert _run_stage(tmp_path, *base, *cmd).returncode == 0
    p = _run_stage(tmp_path, *base, *cmd)
    assert p.returncode == 0 and "skipping" in p.stderr
    assert counter.read_text().count("x") == 1
    # changed input -> rerun
    (tmp_path / "in.txt").write_text("b\n")
    assert _run_stage(tmp_path, *base, *cmd).returncode == 0
    assert counter.read_text().count("x") == 2
    # changed option (command line) -> rerun
    cmd2 = ["--", "bash", "-c", f"echo x >> '{counter}'; cp in.txt out.txt  # --top-n 5"]
    assert _run_stage(tmp_path, *base, *cmd2).returncode == 0
    assert counter.read_text().count("x") == 3
    # missing output -> rerun
    (tmp_path / "out.txt").unlink()
    assert _run_stage(tmp_path, *base, *cmd2).returncode == 0 and (tmp_path / "out.txt").exists()
    marker = json.loads((tmp_path / "done" / "s1").read_text())
    assert marker["command"][-1].endswith("--top-n 5")


def test_failed_command_leaves_no_marker(tmp_path):
    p = _run_stage(tmp_path, "--marker", "done/s2", "--", "bash", "-c", "exit 3")
    assert p.returncode == 3 and "failed with exit code 3" in p.stderr
    assert not (tmp_path / "done" / "s2").exists()


def test_declared_output_missing_is_a_failure(tmp_path):
    p = _run_stage(tmp_path, "--marker", "done/s3", "--outputs", "never.txt", "--", "true")
    assert p.returncode == 1 and "never.txt" in p.stderr
    assert not (tmp_path / "done" / "s3").exists()


def test_reset_removes_derived_dir_only_after_a_finished_run(tmp_path):
    derived = tmp_path / "derived"
    derived.mkdir()
    (derived / "old").write_text("partial")
    args = ["--marker", "done/s4", "--reset", "derived", "--", "bash", "-c", "mkdir -p derived; touch derived/new"]
    assert _run_stage(tmp_path, *args).returncode == 0
    assert (derived / "old").exists(), "no marker yet: a killed first run keeps its partial output to resume"
    args2 = args[:-1] + ["mkdir -p derived; touch derived/newer"]
    assert _run_stage(tmp_path, *args2).returncode == 0
    assert not (derived / "old").exists() and (derived / "newer").exists()
