"""utils/queue.py against qsub's command-line contract.

No SGE can run here, so a fake ``qsub`` on PATH records its argv and runs the array tasks itself,
as ``qsub -sync y -t a:b`` would: the job script with SGE_TASK_ID and JOB_ID set, output to -o.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from embspace.launcher.common import log_status

ROOT = Path(__file__).resolve().parents[1]
QUEUE = ROOT / "utils" / "queue.py"

FAKE_QSUB = """#!{python}
import json, os, subprocess, sys
argv = sys.argv[1:]
with open(os.environ["FAKE_QSUB_RECORD"], "a") as f:
    f.write(json.dumps(argv) + "\\n")
if os.environ.get("FAKE_QSUB_REFUSE"):
    print("Unable to run job: " + os.environ["FAKE_QSUB_REFUSE"], file=sys.stderr)
    sys.exit(1)
script, opts = argv[-1], argv[:-1]
assert opts[opts.index("-sync") + 1] == "y"
out = opts[opts.index("-o") + 1]
lo, hi = map(int, opts[opts.index("-t") + 1].split(":")) if "-t" in opts else (None, None)
print(f'Your job-array 42.{{lo}}-{{hi}}:1 ("x") has been submitted' if lo else 'Your job 42 ("x") has been submitted')
worst = 0
with open(out, "a") as o:
    for t in range(lo, hi + 1) if lo else [None]:
        env = dict(os.environ, JOB_ID="42", SGE_TASK_ID=str(t) if t else "undefined")
        rc = subprocess.run(["/bin/bash", script], env=env, stdout=o, stderr=subprocess.STDOUT).returncode
        print(f"Job 42.{{t}} exited with exit code {{rc}}.")
        worst = max(worst, rc)
sys.exit(worst)
"""


def setup(tmp_path: Path) -> dict:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    qsub = bindir / "qsub"
    qsub.write_text(FAKE_QSUB.format(python=sys.executable))
    qsub.chmod(qsub.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", FAKE_QSUB_RECORD=str(tmp_path / "argv.jsonl"))


def queue(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(QUEUE), *args], cwd=work, env=env, capture_output=True,
                          text=True, timeout=60)


def calls(tmp_path: Path) -> list[list[str]]:
    return [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]


def test_array_options_and_rerun(tmp_path: Path) -> None:
    env = setup(tmp_path)
    odd = "lo g/it's"
    r = queue(tmp_path, env, "--mem", "2G", "--num-threads", "4", "--gpu", "1", "-tc", "2", "JOB=1:3",
              f"{odd}/t.JOB.log", "bash", "-c", 'echo "task JOB $OMP_NUM_THREADS"; [ JOB != 2 ]')
    assert r.returncode == 1
    assert f"queue.py: 1 / 3 failed, log is in {odd}/t.*.log" in r.stderr
    (argv,) = calls(tmp_path)
    qdir = f"{odd}/q"
    assert argv == ["-v", "PATH", "-cwd", "-S", "/bin/bash", "-j", "y",
                    "-l", "mem_free=2G,ram_free=2G", "-pe", "smp", "4", "-l", "gpu=1", "-q", "g.q",
                    "-N", "t", "-o", f"{qdir}/t.log", "-sync", "y", "-t", "1:3", "-tc", "2", f"{qdir}/t.sh"]
    work = tmp_path / "work"
    lines = (work / odd / "t.3.log").read_text().splitlines()
    assert lines[0] == "# bash -c 'echo \"task 3 $OMP_NUM_THREADS\"; [ 3 != 2 ]'"
    assert "task 3 4" in lines and "# Accounting: time=0 threads=4" in lines
    assert [log_status(work / odd / f"t.{j}.log") for j in (1, 2, 3)] == [0, 1, 0]

    before = (work / odd / "t.1.log").read_text()
    r = queue(tmp_path, env, "--pick", "failed", "JOB=1:3", f"{odd}/t.JOB.log", "echo", "again", "JOB")
    assert r.returncode == 0, r.stderr
    assert calls(tmp_path)[1][-5:] == ["-sync", "y", "-t", "2:2", f"{qdir}/t.sh"]
    assert "again 2" in (work / odd / "t.2.log").read_text()
    assert (work / odd / "t.1.log").read_text() == before


def test_pick_non_contiguous_runs_only_picked(tmp_path: Path) -> None:
    env = setup(tmp_path)
    assert queue(tmp_path, env, "JOB=1:3", "l/t.JOB.log", "bash", "-c", "[ JOB = 2 ]").returncode == 1
    r = queue(tmp_path, env, "--pick", "failed", "JOB=1:3", "l/t.JOB.log", "echo", "re", "JOB")
    assert r.returncode == 0, r.stderr
    assert "-t" in calls(tmp_path)[1] and "1:3" in calls(tmp_path)[1]
    work = tmp_path / "work"
    assert "re 1" in (work / "l/t.1.log").read_text() and "re 3" in (work / "l/t.3.log").read_text()
    assert "re 2" not in (work / "l/t.2.log").read_text()


def test_single_job_and_config(tmp_path: Path) -> None:
    env = setup(tmp_path)
    (tmp_path / "my.conf").write_text("command qsub -V  # site\noption mem=* -l h_vmem=$0\noption queue=* -q $0\n")
    r = queue(tmp_path, env, "--config", str(tmp_path / "my.conf"), "--mem", "1G", "--queue", "all.q",
              "one.log", "echo", "hello")
    assert r.returncode == 0, r.stderr
    assert calls(tmp_path)[0] == ["-V", "-l", "h_vmem=1G", "-q", "all.q", "-N", "one", "-o", "q/one.log",
                                  "-sync", "y", "q/one.sh"]
    assert "hello" in (tmp_path / "work/one.log").read_text()
    r = queue(tmp_path, env, "--config", str(tmp_path / "my.conf"), "--gpu", "1", "one.log", "true")
    assert r.returncode == 1 and "no 'option gpu=...' line matches --gpu 1" in r.stderr


def test_refused_submission(tmp_path: Path) -> None:
    env = dict(setup(tmp_path), FAKE_QSUB_REFUSE="no suitable queues")
    r = queue(tmp_path, env, "--gpu", "1", "JOB=1:2", "l/x.JOB.log", "true")
    assert r.returncode == 1
    assert "qsub refused the job" in r.stderr and "Unable to run job: no suitable queues" in r.stderr
