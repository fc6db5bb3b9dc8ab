"""What the Slurm and SGE launchers share: the task script, one blocking submission, footer checks.

The task script (``<logdir>/q/<base>.sh``) runs one task: it finds its index in an environment
variable set by the scheduler, substitutes it for the job name in the command and log path, writes
the log header (the local one plus a ``# Running on <host>, job <id>`` line), runs the command with ``bash -o pipefail -c``, and appends the footer with the exit
code. Success is then decided from the footers alone, so a killed task (no footer) counts as failed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from embspace.launcher.common import Spec, log_status, nothing_to_do, parse_args, pick_tasks, report
from embspace.launcher.siteconf import SiteConfig
from embspace.utils.atomic import atomic_write_text

# Seconds to wait for footers when the scheduler said all tasks ended well (shared file systems lag).
LOG_WAIT_S = float(os.environ.get("EMBSPACE_LOG_WAIT", "15"))


def qdir_and_base(spec: Spec) -> tuple[Path, str]:
    """Folder for scheduler files (``<logdir>/q``) and a base name for them (log name sans JOB, .log)."""
    log = Path(spec.log_for(spec.start))
    base = Path(spec.logfile).name
    if spec.job_name:
        base = re.sub(rf"[._-]?{re.escape(spec.job_name)}", "", base)
    base = re.sub(r"\.log$", "", base) or "job"
    return log.parent / "q", base


def job_name(base: str) -> str:
    """A scheduler-safe job name (SGE forbids / : @ \\ * ? and a leading digit)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", base)
    return name if name[:1].isalpha() else f"j{name}"


def task_script(spec: Spec, task_var: str, only: list[int] | None, prog: str) -> str:
    """Bash script running one task; its index is read from ``$task_var``.

    With ``only``, indices not listed exit 0 at once without touching their log (SGE cannot submit
    an arbitrary list of indices, so ``--pick`` submits the enclosing range).
    """
    q = shlex.quote
    lines = [
        "#!/usr/bin/env bash",
        f"# Written by embspace {prog}: runs one task of {spec.log_pattern}",
        f"cd {q(os.getcwd())} || exit 1",
        "[ ! -f ./path.sh ] || . ./path.sh",
        f"task=${{{task_var}:-}}",
    ]
    if only is not None:
        ids = " ".join(str(t) for t in only)
        lines.append(f'case " {ids} " in *" $task "*) ;; *) exit 0 ;; esac')
    lines += [
        f"name={q(spec.job_name or '')}",
        f"cmd={q(spec.command)}",
        f"log={q(spec.logfile)}",
        'if [ -n "$name" ]; then cmd=${cmd//"$name"/"$task"}; log=${log//"$name"/"$task"}; fi',
        'mkdir -p "$(dirname "$log")" || exit 1',
    ]
    if "num_threads" in spec.given:
        n = spec.num_threads
        lines.append(f"export OMP_NUM_THREADS={n} MKL_NUM_THREADS={n} OPENBLAS_NUM_THREADS={n}")
    lines += [
        '{ printf "# %s\\n" "$cmd"; echo "# Started at $(date)"; '
        'echo "# Running on $(hostname), job ${SLURM_JOB_ID:-${JOB_ID:-?}}"; echo "#"; } > "$log" || exit 1',
        "time1=$(date +%s)",
        'bash -o pipefail -c "$cmd" >> "$log" 2>&1 < /dev/null',
        "ret=$?",
        "time2=$(date +%s)",
        f'{{ echo "# Accounting: time=$((time2 - time1)) threads={spec.num_threads}"; '
        'echo "# Ended (code $ret) at $(date), elapsed time $((time2 - time1)) seconds"; } >> "$log"',
        "exit $ret",
    ]
    return "\n".join(lines) + "\n"


def write_script(path: Path, text: str) -> None:
    """Write an executable script atomically."""
    atomic_write_text(path, text)
    path.chmod(0o755)


def submit(prog: str, argv: list[str], submitted: Callable[[str, str], str | None],
           cancel: list[str] | None) -> tuple[bool, int]:
    """Run a blocking submit command; return (accepted, exit code). A refusal is printed.

    ``submitted(stdout, stderr)`` returns the job id when the job was accepted. On Ctrl-C, the
    job is cancelled with ``cancel + [job id]`` when a job id has been printed.
    """
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    except OSError as e:
        print(f"{prog}: cannot run {argv[0]}: {e.strerror}", file=sys.stderr)
        return False, 127
    first = ""
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        out, err = proc.communicate()
    except KeyboardInterrupt:
        jobid = submitted(first, "")
        if cancel and jobid:
            subprocess.run(cancel + [jobid], check=False)
            print(f"{prog}: interrupted, cancelled job {jobid}", file=sys.stderr)
        proc.kill()
        raise
    out = first + out
    if submitted(out, err) is None:
        print(f"{prog}: {argv[0]} refused the job (exit code {proc.returncode}):", file=sys.stderr)
        print("  " + shlex.join(argv), file=sys.stderr)
        for line in (err + out).strip().splitlines():
            print(f"  {line}", file=sys.stderr)
        return False, proc.returncode
    if err.strip():
        sys.stderr.write(err)
    return True, proc.returncode


def wait_for_footers(logs: list[str]) -> None:
    """Wait up to LOG_WAIT_S for the footers of ``logs`` to appear."""
    deadline = time.time() + LOG_WAIT_S
    while logs and time.time() < deadline:
        logs = [p for p in logs if log_status(p) is None]
        if logs:
            time.sleep(0.5)


def cluster_main(prog: str, argv: list[str] | None, load: Callable[[str | None], SiteConfig],
                 run: Callable[[Spec, SiteConfig, list[int]], tuple[bool, bool]]) -> int:
    """Shared main: parse, pick tasks, ``run`` (returns accepted, all-ok-per-scheduler), report."""
    spec = parse_args(sys.argv[1:] if argv is None else argv, prog)
    conf = load(spec.config)
    tasks = pick_tasks(spec)
    if not tasks:
        return nothing_to_do(prog, spec)
    accepted, sched_ok = run(spec, conf, tasks)
    if not accepted:
        return 1
    if sched_ok:
        wait_for_footers([spec.log_for(t) for t in tasks])
    return report(prog, spec, tasks)
