"""Slurm launcher (``utils/slurm.py``): one ``sbatch --wait`` job array for ``JOB=a:b``.

Same command line as ``utils/run.py``. Submits ``<command from config> <option flags> -J <name>
-o <logdir>/q/<base>.%a.out --parsable --wait --array=<ids>%<max-jobs-run> <logdir>/q/<base>.sh``
(no ``--array`` without a range). Flags come from ``--config FILE``, else ``conf/slurm.conf`` in the
current folder, else :data:`BUILTIN`. The task logs get header and footer from the task script;
after ``sbatch`` returns, the footers decide success. A job that sbatch refuses (e.g. ``--gpu 1`` on
a cluster without GPU gres) prints sbatch's message and exits 1. Slurm's MaxArraySize (default 1001)
bounds the task indices.

Environment: the built-in config exports PATH (the submitter's python or virtualenv) and PYTHONPATH
(a source checkout of embspace) to the tasks and nothing else, as Kaldi's slurm.pl does with PATH;
the task script then sources ``./path.sh`` of the submit folder when there is one. ``--export=ALL``
is avoided on purpose: it would carry CUDA_VISIBLE_DEVICES and the SLURM_* variables of an enclosing
allocation into the tasks.
"""

from __future__ import annotations

import sys

from embspace.launcher.cluster import cluster_main, job_name, qdir_and_base, submit, task_script, write_script
from embspace.launcher.common import Spec, launcher_main
from embspace.launcher.siteconf import SiteConfig, load_config

PROG = "slurm.py"
BUILTIN = """\
command sbatch --export=PATH,PYTHONPATH --ntasks-per-node=1
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0
option num_threads=* --cpus-per-task $0
option num_threads=1 --cpus-per-task 1
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
option nodes=* --nodes $0
"""


def array_spec(ids: list[int]) -> str:
    """Compact Slurm array list: ``[1, 2, 3, 5]`` -> ``1-3,5``."""
    parts: list[str] = []
    start = prev = ids[0]
    for i in ids[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ",".join(parts)


def sbatch_argv(spec: Spec, conf: SiteConfig, tasks: list[int], script: str, out: str, name: str) -> list[str]:
    """The full sbatch command line."""
    given = {k: v for k, v in spec.given.items() if k != "max_jobs_run"}
    argv = conf.command + conf.flags(given) + ["-J", name, "-o", out, "--parsable", "--wait"]
    if spec.job_name:
        limit = f"%{spec.max_jobs_run}" if spec.max_jobs_run else ""
        argv.append(f"--array={array_spec(tasks)}{limit}")
    return argv + [script]


def run_slurm(spec: Spec, conf: SiteConfig, tasks: list[int]) -> tuple[bool, bool]:
    """Write the task script, submit, wait; return (accepted, sbatch reported success)."""
    qdir, base = qdir_and_base(spec)
    script = qdir / f"{base}.sh"
    write_script(script, task_script(spec, "SLURM_ARRAY_TASK_ID", None, PROG))
    out = str(qdir / base).replace("%", "%%") + (".%a.out" if spec.job_name else ".out")  # %% is a literal %
    argv = sbatch_argv(spec, conf, tasks, str(script), out, job_name(base))

    def job_id(stdout: str, _stderr: str) -> str | None:
        first = stdout.strip().split(";")[0].split("\n")[0]
        return first if first.isdigit() else None

    accepted, rc = submit(PROG, argv, job_id, ["scancel"])
    return accepted, rc == 0


@launcher_main(PROG)
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``utils/slurm.py``."""
    return cluster_main(PROG, argv, lambda path: load_config(path, "conf/slurm.conf", BUILTIN), run_slurm)


if __name__ == "__main__":
    sys.exit(main())
