"""utils/run.py: the Kaldi $cmd contract with local processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from embspace.launcher.common import join_command, log_status, parse_args
from embspace.utils.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "utils" / "run.py"


def run(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN), *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=60)


def test_array_logs_and_footers(tmp_path: Path) -> None:
    r = run(tmp_path, "JOB=1:3", "log/out.JOB.log", "echo", "task", "JOB", "of", "log/out.JOB.log")
    assert r.returncode == 0, r.stderr
    for j in (1, 2, 3):
        lines = (tmp_path / f"log/out.{j}.log").read_text().splitlines()
        assert lines[0] == f"# echo task {j} of log/out.{j}.log"
        assert lines[1].startswith("# Started at ") and lines[2] == "#"
        assert lines[3] == f"task {j} of log/out.{j}.log"
        assert lines[4] == "# Accounting: time=0 threads=1"
        assert lines[5].startswith("# Ended (code 0) at ") and lines[5].endswith(" seconds")
        assert log_status(tmp_path / f"log/out.{j}.log") == 0


def test_range_after_options_other_name_and_pipes(tmp_path: Path) -> None:
    r = run(tmp_path, "--max-jobs-run", "2", "N=2:3", "--mem", "4G", "l/N/x.log",
            "echo", "abc N", "|", "tr", "a-z", "A-Z", ">", "o.N.txt")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.2.txt").read_text() == "ABC 2\n"
    assert (tmp_path / "o.3.txt").read_text() == "ABC 3\n"
    assert (tmp_path / "l/3/x.log").exists() and not (tmp_path / "l/1").exists()


def test_failure_message_and_pick_failed(tmp_path: Path) -> None:
    r = run(tmp_path, "JOB=1:3", "log/t.JOB.log", "bash", "-c", "echo first JOB; [ JOB != 2 ]")
    assert r.returncode == 1
    assert "run.py: 1 / 3 failed, log is in log/t.*.log" in r.stderr
    assert "log/t.2.log" in r.stderr and "log/t.1.log" not in r.stderr
    assert log_status(tmp_path / "log/t.2.log") == 1
    before = {j: (tmp_path / f"log/t.{j}.log").read_text() for j in (1, 3)}
    r = run(tmp_path, "--pick", "failed", "JOB=1:3", "log/t.JOB.log", "echo", "again", "JOB")
    assert r.returncode == 0, r.stderr
    assert "again 2" in (tmp_path / "log/t.2.log").read_text()
    assert {j: (tmp_path / f"log/t.{j}.log").read_text() for j in (1, 3)} == before
    r = run(tmp_path, "--pick", "failed", "JOB=1:3", "log/t.JOB.log", "false")
    assert r.returncode == 0 and "nothing to rerun" in r.stderr


def test_pick_incomplete_skips_failed(tmp_path: Path) -> None:
    (tmp_path / "log").mkdir()
    run(tmp_path, "JOB=1:2", "log/t.JOB.log", "bash", "-c", "exit JOB")  # 1 fails, 2 fails
    (tmp_path / "log/t.2.log").write_text("# cut short\n")  # as if killed
    r = run(tmp_path, "--pick", "incomplete", "JOB=1:3", "log/t.JOB.log", "echo", "ran", "JOB")
    assert r.returncode == 0, r.stderr
    assert log_status(tmp_path / "log/t.1.log") == 1
    assert "ran 2" in (tmp_path / "log/t.2.log").read_text()
    assert "ran 3" in (tmp_path / "log/t.3.log").read_text()


def test_max_jobs_run_serialises(tmp_path: Path) -> None:
    t0 = time.time()
    r = run(tmp_path, "-tc", "1", "JOB=1:3", "log/s.JOB.log", "bash", "-c",
            "date +%s.%N > start.JOB; sleep 0.3; date +%s.%N > end.JOB")
    assert r.returncode == 0, r.stderr
    spans = sorted((float((tmp_path / f"start.{j}").read_text()), float((tmp_path / f"end.{j}").read_text()))
                   for j in (1, 2, 3))
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(2))
    assert time.time() - t0 >= 0.9


def test_paths_with_spaces_and_quotes(tmp_path: Path) -> None:
    odd = "dir with space/it's \"q\""
    r = run(tmp_path, "JOB=1:2", f"{odd}/log.JOB.txt", "bash", "-c", 'printf "%s\\n" "$1" > "$2"', "_",
            "it's a \"JOB\" $HOME `x`", f"{odd}/out.JOB")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / odd / "out.2").read_text() == "it's a \"2\" $HOME `x`\n"
    assert log_status(tmp_path / odd / "log.1.txt") == 0


def test_num_threads_env_and_gpu_without_gpus(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""}
    r = run(tmp_path, "--num-threads", "3", "--gpu", "1", "l.log", "bash", "-c",
            'echo "$OMP_NUM_THREADS $MKL_NUM_THREADS [$CUDA_VISIBLE_DEVICES]"', env=env)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "l.log").read_text()
    assert "3 3 []" in text and "threads=3" in text
    assert "no GPU found" in r.stderr


def test_gpu_round_robin_over_visible(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": "4,7"}
    r = run(tmp_path, "--gpu", "1", "JOB=1:2", "g.JOB.log", "bash", "-c",
            'echo "gpu=$CUDA_VISIBLE_DEVICES"; sleep 0.2', env=env)
    assert r.returncode == 0, r.stderr
    got = sorted((tmp_path / f"g.{j}.log").read_text().splitlines()[3] for j in (1, 2))
    assert got == ["gpu=4", "gpu=7"]


def test_single_job_failure(tmp_path: Path) -> None:
    r = run(tmp_path, "x.log", "exit 3")  # a single word with spaces is a shell snippet
    assert r.returncode == 1 and "job failed (code 3), log is in x.log" in r.stderr


@pytest.mark.parametrize("argv,msg", [
    (["JOB=1:3", "log/x.log", "true"], "must contain the job name"),
    (["JOB=0:3", "x.JOB.log", "true"], "bad job range"),
    (["JOB=3:2", "x.JOB.log", "true"], "bad job range"),
    (["--pick", "some", "x.log", "true"], "--pick must be one of"),
    (["--max-jobs-run", "0", "x.log", "true"], "must be >= 1"),
    (["x.log"], "expected <logfile> <command"),
])
def test_bad_command_lines(argv: list[str], msg: str) -> None:
    with pytest.raises(DataError, match=msg):
        parse_args(argv, "run.py")


def test_join_command() -> None:
    assert join_command(["echo", "a b", "|", "wc", "2>&1", ">", "o"]) == "echo 'a b' | wc 2>&1 > o"
    assert join_command(["a | b"]) == "a | b"
    spec = parse_args(["-tc", "2", "JOB=2:4", "--num-threads=2", "l.JOB", "cmd", "JOB"], "run.py")
    assert (spec.task_ids, spec.max_jobs_run, spec.num_threads) == ([2, 3, 4], 2, 2)
    assert spec.command_for(3) == "cmd 3" and spec.log_pattern == "l.*"


def test_site_config_of_the_readme_is_found_from_a_recipe_folder(tmp_path: Path, monkeypatch) -> None:
    """README's `utils/slurm.py --config conf/slurm.conf ...` line, run from egs/mini/v1 (no conf/slurm.conf
    there): the repository's conf/slurm.conf is used; a config found nowhere names both places."""
    recipe = ROOT / "egs" / "mini" / "v1"
    assert not (recipe / "conf" / "slurm.conf").exists()
    monkeypatch.chdir(recipe)
    spec = parse_args(["--config", "conf/slurm.conf", str(tmp_path / "x.log"), "true"], "slurm.py")
    assert Path(spec.config) == ROOT / "conf" / "slurm.conf"
    r = run(recipe, "--config", "conf/queue.conf", str(tmp_path / "y.log"), "echo", "ok")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "--config", "conf/nowhere.conf", str(tmp_path / "z.log"), "true")
    assert r.returncode != 0 and "config file not found: conf/nowhere.conf (looked in" in r.stderr
    assert "Traceback" not in r.stderr
