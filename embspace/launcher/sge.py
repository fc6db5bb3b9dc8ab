"""SGE launcher (``utils/queue.py``): one ``qsub -sync y`` array job for ``JOB=a:b``.

Same command line as ``utils/run.py``. Submits ``<command from config> <option flags> -N <name>
-o <logdir>/q/<base>.log -sync y -t a:b [-tc N] <logdir>/q/<base>.sh``. Flags come from
``--config FILE``, else ``conf/queue.conf`` in the current folder, else :data:`BUILTIN`. The task
script reads ``$SGE_TASK_ID``; ``--pick`` submits the smallest range holding the picked indices and
the others exit at once. Success is read from the task log footers.

No SGE runs where this is developed: tests/test_sge_contract.py checks this launcher against
qsub's command-line contract with a fake ``qsub`` that runs the array tasks itself.
"""

from __future__ import annotations

import sys

from embspace.launcher.cluster import cluster_main, job_name, qdir_and_base, submit, task_script, write_script
from embspace.launcher.common import Spec, launcher_main
from embspace.launcher.siteconf import SiteConfig, load_config

PROG = "queue.py"
BUILTIN = """\
command qsub -v PATH -cwd -S /bin/bash -j y
option mem=* -l mem_free=$0,ram_free=$0
option mem=0
option num_threads=* -pe smp $0
option num_threads=1
option time=* -l h_rt=$0
default gpu=0
option gpu=0
option gpu=* -l gpu=$0 -q g.q
"""


def qsub_argv(spec: Spec, conf: SiteConfig, tasks: list[int], script: str, out: str, name: str) -> list[str]:
    """The full qsub command line."""
    given = {k: v for k, v in spec.given.items() if k != "max_jobs_run"}
    argv = conf.command + conf.flags(given) + ["-N", name, "-o", out, "-sync", "y"]
    if spec.job_name:
        argv += ["-t", f"{min(tasks)}:{max(tasks)}"]
        if spec.max_jobs_run:
            argv += ["-tc", str(spec.max_jobs_run)]
    return argv + [script]


def run_sge(spec: Spec, conf: SiteConfig, tasks: list[int]) -> tuple[bool, bool]:
    """Write the task script, submit, wait; return (accepted, qsub reported success)."""
    qdir, base = qdir_and_base(spec)
    script = qdir / f"{base}.sh"
    contiguous = tasks == list(range(min(tasks), max(tasks) + 1))
    write_script(script, task_script(spec, "SGE_TASK_ID", None if contiguous else tasks, PROG))
    argv = qsub_argv(spec, conf, tasks, str(script), str(qdir / f"{base}.log"), job_name(base))

    def job_id(stdout: str, _stderr: str) -> str | None:
        for line in stdout.splitlines():  # "Your job[-array] 123[.1-3:1] ("name") has been submitted"
            words = line.split()
            if line.startswith("Your job") and "has been submitted" in line and len(words) > 2:
                return words[2].split(".")[0]
        return None

    accepted, rc = submit(PROG, argv, job_id, ["qdel"])
    return accepted, rc == 0


@launcher_main(PROG)
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``utils/queue.py``."""
    return cluster_main(PROG, argv, lambda path: load_config(path, "conf/queue.conf", BUILTIN), run_sge)


if __name__ == "__main__":
    sys.exit(main())
