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
import sys

from embspace.stage import VOLATILE_OPTIONS, DigestCache, MissingInput, Stage
from embspace.utils.errors import DataError, cli_main
from embspace.utils.lock import LockBusy, exclusive_lock


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Check the options, then skip the stage or run it under its lock."""
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
    stage = Stage(args.marker, command, args.inputs, args.stat_inputs, args.outputs, args.volatile, args.reset,
                  args.force, name)
    try:
        cache = DigestCache(args.digest_cache or os.path.join(os.path.dirname(args.marker) or ".", ".digests.json"))
        if not args.force and stage.done(cache):  # read-only: a skipped stage takes no lock
            print(f"[{name}] already done with the same inputs and options; skipping", file=sys.stderr)
            return 0
        with exclusive_lock(f"{args.marker}.lock", f"stage {name}"):
            return stage.run(cache)
    except (MissingInput, LockBusy, DataError) as e:
        print(f"[{name}] error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"[{name}] error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
