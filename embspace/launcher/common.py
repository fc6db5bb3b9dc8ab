"""The Kaldi ``$cmd`` contract shared by all launchers: CLI parsing, JOB substitution, log header/footer.

Form: ``<launcher> [opts] [JOB=a:b] <logfile> <command ...>``. The range may sit before, between or
after the options; its name is any identifier. Every occurrence of the name in the log path and in
the command is replaced by the task index. The command words are joined into one shell string: each
word is quoted with :func:`shlex.quote`, except words that are shell operators (``|``, ``||``, ``&&``,
``;``, ``&``, ``>``, ``>>``, ``<``, ``2>``, ``2>&1``, ``|&``, ... see :data:`OPERATOR_RE`), which stay
bare so that ``$cmd log a \\| b \\> out`` pipes and redirects inside the job. A command that is a
single word containing white space is taken as a shell snippet, as is (``$cmd log 'a | b > out'``).
The string runs as ``bash -o pipefail -c <string>``.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from embspace.utils.errors import DataError, exit_with_error

RANGE_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")
OPERATOR_RE = re.compile(r"^(\||\|\||&&|;|&|\|&|[0-9]*(>|>>|<|>&[0-9]|<&[0-9])|&>|&>>)$")
FOOTER_RE = re.compile(r"^# Ended \(code (-?\d+)\) at ")
PICKS = ("all", "failed", "incomplete")

# option name on the command line -> (field name, needs a value)
_OPTIONS = {
    "--max-jobs-run": "max_jobs_run",
    "-tc": "max_jobs_run",
    "--num-threads": "num_threads",
    "--gpu": "gpu",
    "--mem": "mem",
    "--time": "time",
    "--config": "config",
    "--pick": "pick",
}

USAGE = """usage: {prog} [options] [JOB=a:b] <logfile> <command ...>
  JOB=a:b runs tasks a..b (a >= 1); JOB (any identifier) in <logfile> and <command> becomes the
  task index, and <logfile> must contain it. Options:
  --max-jobs-run N (-tc N)  at most N tasks at once
  --num-threads N           threads per task (OMP_NUM_THREADS/MKL_NUM_THREADS)
  --gpu N                   GPUs per task
  --mem SIZE, --time T      memory / time limit per task (cluster launchers)
  --config FILE             site config (cluster launchers: conf/slurm.conf or conf/queue.conf format)
  --pick all|failed|incomplete
                            rerun all tasks, those that did not end with code 0 (failed), or those
                            whose log has no footer (incomplete: never started or killed)
  --<name> VALUE            other options go to the cluster site config (the local launcher warns)"""


@dataclass
class Spec:
    """A parsed launcher command line."""

    logfile: str
    command: str
    job_name: str | None = None
    start: int = 1
    end: int = 1
    max_jobs_run: int | None = None
    num_threads: int = 1
    gpu: int = 0
    mem: str | None = None
    time: str | None = None
    config: str | None = None
    pick: str = "all"
    given: dict[str, str] = field(default_factory=dict)  # options set on the command line, by config name

    @property
    def task_ids(self) -> list[int]:
        """All task indices of the range (``[1]`` without one)."""
        return list(range(self.start, self.end + 1))

    def subst(self, text: str, task: int) -> str:
        """``text`` with the job name replaced by ``task``."""
        return text.replace(self.job_name, str(task)) if self.job_name else text

    def log_for(self, task: int) -> str:
        """Log path of one task."""
        return self.subst(self.logfile, task)

    def command_for(self, task: int) -> str:
        """Shell command string of one task."""
        return self.subst(self.command, task)

    @property
    def log_pattern(self) -> str:
        """The log path with ``*`` for the job name (for messages)."""
        return self.logfile.replace(self.job_name, "*") if self.job_name else self.logfile


def join_command(words: list[str]) -> str:
    """Join command words into one shell string (operators stay bare, everything else is quoted)."""
    if len(words) == 1 and any(c.isspace() for c in words[0]):
        return words[0]
    return " ".join(w if OPERATOR_RE.match(w) else shlex.quote(w) for w in words)


def _positive_int(name: str, value: str, minimum: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise DataError(f"{name} expects an integer, got '{value}'") from None
    if n < minimum:
        raise DataError(f"{name} must be >= {minimum}, got {n}")
    return n


REPO_ROOT = Path(__file__).resolve().parents[2]  # a source checkout: <repo>/embspace/launcher/common.py


def resolve_config(path: str) -> str:
    """A site config path as given, else (relative) under the repository, so that ``--config
    conf/slurm.conf`` works from a recipe folder without a copy; DataError naming both places if neither."""
    if Path(path).is_file():
        return path
    in_repo = REPO_ROOT / path
    if not Path(path).is_absolute() and in_repo.is_file():
        return str(in_repo)
    where = path if Path(path).is_absolute() else f"{path} (looked in {Path.cwd()} and {REPO_ROOT})"
    raise DataError(f"config file not found: {where}")


def parse_args(argv: list[str], prog: str) -> Spec:
    """Parse ``[opts] [JOB=a:b] <logfile> <command ...>``; raise DataError on misuse."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(prog=prog), file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else 1)
    values: dict[str, str] = {}
    extra: dict[str, str] = {}
    job: tuple[str, int, int] | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        m = RANGE_RE.match(arg)
        if m:
            if job is not None:
                raise DataError(f"two job ranges: '{job[0]}=...' and '{arg}'")
            start = int(m.group(2))
            end = int(m.group(3)) if m.group(3) is not None else start
            if start < 1 or end < start:
                raise DataError(f"bad job range '{arg}': need 1 <= start <= end")
            job = (m.group(1), start, end)
            i += 1
            continue
        if not arg.startswith("-") or arg == "-":
            break
        if arg == "--":
            i += 1
            break
        name, eq, value = arg.partition("=")
        if not eq:
            if i + 1 >= len(argv):
                raise DataError(f"option {arg} needs a value")
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        if name in _OPTIONS:
            values[_OPTIONS[name]] = value
        elif name.startswith("--") and len(name) > 2:
            extra[name[2:].replace("-", "_")] = value
        else:
            raise DataError(f"unknown option '{arg}'")
    if len(argv) - i < 2:
        raise DataError(f"expected <logfile> <command ...> (see {prog} --help)")
    logfile, words = argv[i], argv[i + 1:]
    spec = Spec(logfile=logfile, command=join_command(words))
    if job is not None:
        spec.job_name, spec.start, spec.end = job
        if spec.job_name not in logfile:
            raise DataError(f"log file '{logfile}' must contain the job name {spec.job_name} of the range")
    if "max_jobs_run" in values:
        spec.max_jobs_run = _positive_int("--max-jobs-run", values["max_jobs_run"], 1)
    if "num_threads" in values:
        spec.num_threads = _positive_int("--num-threads", values["num_threads"], 1)
    if "gpu" in values:
        spec.gpu = _positive_int("--gpu", values["gpu"], 0)
    spec.mem, spec.time, spec.config = values.get("mem"), values.get("time"), values.get("config")
    if "pick" in values:
        if values["pick"] not in PICKS:
            raise DataError(f"--pick must be one of {', '.join(PICKS)}, got '{values['pick']}'")
        spec.pick = values["pick"]
    if spec.config is not None:
        spec.config = resolve_config(spec.config)
    spec.given = {k: v for k, v in values.items() if k not in ("config", "pick")}
    spec.given.update(extra)
    return spec


def now() -> str:
    """The date as ``date`` prints it."""
    return time.strftime("%a %b %d %H:%M:%S %Z %Y")


def header(command: str) -> str:
    """First lines of a task log."""
    return f"# {command}\n# Started at {now()}\n#\n"


def footer(rc: int, elapsed: int, threads: int) -> str:
    """Last lines of a task log; :func:`log_status` reads them back."""
    return (f"# Accounting: time={elapsed} threads={threads}\n"
            f"# Ended (code {rc}) at {now()}, elapsed time {elapsed} seconds\n")


def log_status(path: str | os.PathLike) -> int | None:
    """Exit code from a task log's footer, or None when the log or its footer is missing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(tail[-4:]):
        m = FOOTER_RE.match(line)
        if m:
            return int(m.group(1))
    return None


def pick_tasks(spec: Spec) -> list[int]:
    """Tasks to run under ``--pick``: all; not ended with code 0 (failed); without footer (incomplete)."""
    if spec.pick == "all":
        return spec.task_ids
    status = {t: log_status(spec.log_for(t)) for t in spec.task_ids}
    if spec.pick == "failed":
        return [t for t, rc in status.items() if rc != 0]
    return [t for t, rc in status.items() if rc is None]


def report(prog: str, spec: Spec, tasks: list[int]) -> int:
    """Read the footers of ``tasks``; print the failures to stderr; return the exit status (0 or 1)."""
    failed = [t for t in tasks if log_status(spec.log_for(t)) != 0]
    if not failed:
        return 0
    if spec.job_name is None:
        rc = log_status(spec.logfile)
        why = "no footer: killed or never started" if rc is None else f"code {rc}"
        print(f"{prog}: job failed ({why}), log is in {spec.logfile}", file=sys.stderr)
    else:
        print(f"{prog}: {len(failed)} / {len(tasks)} failed, log is in {spec.log_pattern}", file=sys.stderr)
        for t in failed:
            rc = log_status(spec.log_for(t))
            why = "no footer: killed or never started" if rc is None else f"code {rc}"
            print(f"  {spec.log_for(t)} ({why})", file=sys.stderr)
    return 1


def nothing_to_do(prog: str, spec: Spec) -> int:
    """Message for a ``--pick`` that selects no task."""
    print(f"{prog}: --pick {spec.pick}: nothing to rerun, log is in {spec.log_pattern}", file=sys.stderr)
    return 0


def launcher_main(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Like :func:`embspace.utils.errors.cli_main`, but messages start with the script name ``prog``."""

    def wrap(func: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(func)
        def wrapper(*args, **kwargs) -> int:
            try:
                return func(*args, **kwargs) or 0
            except (DataError, OSError) as e:
                exit_with_error(prog, e)

        return wrapper

    return wrap
