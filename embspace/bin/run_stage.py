"""Run a recipe step unless its completion marker says it is already done with the same inputs.

    python -m embspace.bin.run_stage --marker exp/.done/fbank --inputs a.jsonl.gz conf/x.yaml \
        --stat-inputs data/corpus/wav --outputs data/fbank/cuts_train.jsonl.gz -- steps/compute_fbank.sh ...

The fingerprint covers the command line (so a changed option reruns the step; ``--nj``/``--cmd``
and the like do not count), the content of each ``--inputs`` file or folder (for an ``.scp``, also
the files it points to) and the size/mtime signature of each ``--stat-inputs`` tree; see
``embspace.stage``. The marker is written only when the command exits 0. ``--force`` reruns a
stage whatever its marker says (``run.sh --force true``); the marker is removed before any
command runs, so a killed run (forced or not) is never taken for done. A stage is locked while it
runs (``<marker>.lock``): a second ``run_stage`` of the same stage fails at once, naming the first.
A declared input that does not exist is an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from embspace.stage import VOLATILE_OPTIONS, DigestCache, MissingInput, fingerprint, is_done, mark_done
from embspace.utils.errors import DataError, cli_main
from embspace.utils.lock import LockBusy, exclusive_lock


@cli_main
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv and ("-h" in argv or "--help" in argv):
        argv.append("--")  # the parser prints the help
    if "--" not in argv:
        print("run_stage: usage: run_stage --marker M [--inputs ...] [--outputs ...] -- command ...", file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="run_stage")
    parser.add_argument("--marker", required=True, help="completion marker file, e.g. exp/.done/3.train")
    parser.add_argument("--inputs", nargs="*", default=[],
                        help="files/folders the step reads, fingerprinted by content (an .scp also by the files it points to)")
    parser.add_argument("--stat-inputs", nargs="*", default=[],
                        help="large trees fingerprinted by file name, size and mtime only (e.g. audio folders)")
    parser.add_argument("--outputs", nargs="*", default=[], help="files that must exist after the step")
    parser.add_argument("--name", default=None, help="label for log lines")
    parser.add_argument("--reset", nargs="*", default=[],
                        help="derived folders to delete before rerunning a stage that had finished with other inputs/options")
    parser.add_argument("--force", action="store_true", help="rerun even when the marker says the stage is done")
    parser.add_argument("--volatile", nargs="*", default=list(VOLATILE_OPTIONS),
                        help="command options left out of the fingerprint (default: %(default)s)")
    parser.add_argument("--digest-cache", default=None,
                        help="cache of file digests (default: .digests.json beside the marker)")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        parser.error("no command after --")
    name = args.name or args.marker
    try:
        cache = DigestCache(args.digest_cache or os.path.join(os.path.dirname(args.marker) or ".", ".digests.json"))
        if not args.force and _done(args, command, cache):  # read-only: a skipped stage takes no lock
            print(f"[{name}] already done with the same inputs and options; skipping", file=sys.stderr)
            return 0
        with exclusive_lock(f"{args.marker}.lock", f"stage {name}"):
            return _run(args, command, name, cache)
    except (MissingInput, LockBusy, DataError) as e:
        print(f"[{name}] error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"[{name}] error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


def _done(args: argparse.Namespace, command: list[str], cache: DigestCache) -> bool:
    fp = fingerprint(command, args.inputs, args.stat_inputs, cache, args.volatile)
    cache.save()
    return is_done(args.marker, fp, args.outputs)


def _run(args: argparse.Namespace, command: list[str], name: str, cache: DigestCache) -> int:
    """Skip, or run ``command`` and write the marker; the caller holds the stage's lock."""
    fp = fingerprint(command, args.inputs, args.stat_inputs, cache, args.volatile)
    cache.save()
    if not args.force and is_done(args.marker, fp, args.outputs):  # done by the process that held the lock
        print(f"[{name}] already done with the same inputs and options; skipping", file=sys.stderr)
        return 0
    if args.reset and os.path.isfile(args.marker):
        why = "forced to rerun" if args.force else "inputs or options changed since the last run"
        for path in args.reset:
            if os.path.isdir(path):
                print(f"[{name}] {why}; removing {path}", file=sys.stderr)
                shutil.rmtree(path)
    # The old marker goes before the command starts: a run killed part-way (forced or not) must not
    # be taken for done by the next call, even if its fingerprint happens to match again.
    if os.path.lexists(args.marker):
        os.unlink(args.marker)
    start = time.time()
    rc = subprocess.call(command)
    if rc != 0:
        print(f"[{name}] failed with exit code {rc}", file=sys.stderr)
        return rc
    missing = [o for o in args.outputs if not os.path.exists(o)]
    if missing:
        print(f"[{name}] finished but did not produce: {' '.join(missing)}", file=sys.stderr)
        return 1
    mark_done(args.marker, fp, command, time.time() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
