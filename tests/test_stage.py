"""Stage markers: skip when unchanged, rerun on a changed option or input, no marker on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

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


def _count(counter) -> int:
    return counter.read_text().count("x") if counter.exists() else 0


def test_scp_input_reruns_when_the_ark_behind_it_changes(tmp_path):
    """The scp's own bytes (keys and offsets) stay the same when the vectors change."""
    import numpy as np

    from embspace.embio import write_embeddings

    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", [("a", np.ones(4)), ("b", np.arange(1, 5.0))])
    scp_before = (tmp_path / "x.scp").read_bytes()
    counter = tmp_path / "count"
    args = ["--marker", "done/s5", "--inputs", "x.scp", "--", "bash", "-c", f"echo x >> '{counter}'"]
    assert _run_stage(tmp_path, *args).returncode == 0
    assert "skipping" in _run_stage(tmp_path, *args).stderr
    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", [("a", 2 * np.ones(4)), ("b", np.arange(1, 5.0))])
    assert (tmp_path / "x.scp").read_bytes() == scp_before
    assert _run_stage(tmp_path, *args).returncode == 0
    assert _count(counter) == 2


def test_audio_behind_a_wav_scp_and_stat_inputs_count_by_size_and_mtime(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF0000")
    (tmp_path / "wav.scp").write_text("u1 a.wav\nu2 sox x.wav -t wav - |\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "f").write_text("1")
    counter = tmp_path / "count"
    args = ["--marker", "done/s6", "--inputs", "wav.scp", "--stat-inputs", "tree", "--",
            "bash", "-c", f"echo x >> '{counter}'"]
    assert _run_stage(tmp_path, *args).returncode == 0
    assert "skipping" in _run_stage(tmp_path, *args).stderr
    os.utime(tmp_path / "a.wav", ns=(1, 10**18))
    assert _run_stage(tmp_path, *args).returncode == 0 and _count(counter) == 2
    (tmp_path / "tree" / "g").write_text("new file")
    assert _run_stage(tmp_path, *args).returncode == 0 and _count(counter) == 3
    assert "skipping" in _run_stage(tmp_path, *args).stderr


def test_nj_and_cmd_do_not_count_and_force_reruns(tmp_path):
    counter = tmp_path / "count"
    cmd = ["bash", "-c", f"echo x >> '{counter}'", "--", "--nj"]
    base = ["--marker", "done/s7", "--"]
    assert _run_stage(tmp_path, *base, *cmd, "2", "--cmd", "utils/run.py").returncode == 0
    p = _run_stage(tmp_path, *base, *cmd, "8", "--cmd", "utils/slurm.py --mem 4G")
    assert "skipping" in p.stderr and _count(counter) == 1
    p = _run_stage(tmp_path, "--force", *base, *cmd, "8")
    assert p.returncode == 0 and _count(counter) == 2


def test_digest_cache_reuses_digests_of_unchanged_files(tmp_path, monkeypatch):
    from embspace import stage

    f = tmp_path / "big.bin"
    f.write_bytes(b"abc" * 1000)
    cache = stage.DigestCache(tmp_path / "cache.json")
    fp1 = stage.fingerprint(["cmd"], [f], cache=cache)
    cache.save()
    calls = []
    monkeypatch.setattr(stage, "file_sha256", lambda p: calls.append(p) or "never")
    cache2 = stage.DigestCache(tmp_path / "cache.json")
    assert stage.fingerprint(["cmd"], [f], cache=cache2) == fp1 and calls == []
    f.write_bytes(b"abd" * 1000)  # rewritten: new mtime -> hashed again
    stage.fingerprint(["cmd"], [f], cache=cache2)
    assert calls == [f]


def test_strip_volatile_options():
    from embspace.stage import strip_volatile

    assert strip_volatile(["a", "--nj", "4", "--top-n", "5", "--cmd=x", "b"]) == ["a", "--top-n", "5", "b"]


def test_files_named_in_a_piped_wav_scp_entry_are_fingerprinted(tmp_path):
    """Replacing the recording behind ``sox a.flac ... |`` reruns the stage (the scp bytes do not change)."""
    (tmp_path / "a.flac").write_bytes(b"fLaC0000")
    (tmp_path / "wav.scp").write_text("u1 sox 'a.flac' -t wav - |\n")
    counter = tmp_path / "count"
    args = ["--marker", "done/p1", "--inputs", "wav.scp", "--", "bash", "-c", f"echo x >> '{counter}'"]
    assert _run_stage(tmp_path, *args).returncode == 0
    assert "skipping" in _run_stage(tmp_path, *args).stderr
    (tmp_path / "a.flac").write_bytes(b"fLaC0001-new-audio")
    assert _run_stage(tmp_path, *args).returncode == 0 and _count(counter) == 2


def test_a_declared_input_that_does_not_exist_is_an_error(tmp_path):
    for opt in ("--inputs", "--stat-inputs"):
        p = _run_stage(tmp_path, "--marker", "done/m", opt, "no/such.txt", "--", "true")
        assert p.returncode == 1 and "declared input does not exist: no/such.txt" in p.stderr
        assert "Traceback" not in p.stderr and not (tmp_path / "done" / "m").exists()


def test_a_scp_input_that_is_not_utf8_is_an_error_naming_file_and_line(tmp_path):
    """A bad byte in an scp line is a one-line error naming the scp and the line (under ``python -S``, as run)."""
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "wav.scp").write_bytes(b"u1 a.wav\nu2 b\xff.wav\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-S", "-m", "embspace.bin.run_stage", "--marker", "done/u", "--inputs",
                        "wav.scp", "--", "true"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 1 and "wav.scp:2: not UTF-8 text" in p.stderr and "0xff" in p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "done" / "u").exists()


def test_force_removes_the_marker_before_running(tmp_path):
    """A forced rerun killed part-way is rerun by the next plain call, never taken for done."""
    (tmp_path / "in.txt").write_text("a\n")
    counter = tmp_path / "count"
    base = ["--marker", "done/f", "--inputs", "in.txt", "--"]
    assert _run_stage(tmp_path, *base, "bash", "-c", f"echo x >> '{counter}'").returncode == 0
    killed = _run_stage(tmp_path, "--force", *base, "bash", "-c", "kill -9 $$")
    assert killed.returncode != 0 and not (tmp_path / "done" / "f").exists()
    assert _run_stage(tmp_path, *base, "bash", "-c", f"echo x >> '{counter}'").returncode == 0
    assert _count(counter) == 2


def test_a_second_run_of_a_running_stage_fails_fast_naming_the_first(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "embspace.bin.run_stage", "--marker", "done/l", "--"]
    first = subprocess.Popen([*args, "bash", "-c", "touch started; sleep 30"], cwd=tmp_path, env=env,
                             stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if (tmp_path / "started").exists():
                break
            time.sleep(0.05)
        p = _run_stage(tmp_path, "--marker", "done/l", "--", "touch", "second-ran")
        assert p.returncode == 1 and f"pid {first.pid}" in p.stderr and "being written" in p.stderr
        assert not (tmp_path / "second-ran").exists()
    finally:
        first.kill()
        first.wait()
    assert _run_stage(tmp_path, "--marker", "done/l", "--", "true").returncode == 0, "a dead holder leaves no lock"
