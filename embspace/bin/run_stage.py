"""Run a recipe step unless its completion marker says it is already done with the same inputs.

    python -m embspace.bin.run_stage --marker exp/.done/fbank --inputs a.jsonl.gz conf/x.yaml \
        --outputs data/fbank/cuts_train.jsonl.gz -- steps/compute_fbank.sh ...

The fingerprint covers the command line (so a changed option reruns the step) and the content
of each input; the marker is written only when the command exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

from embspace.stage import fingerprint, is_done, mark_done


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        print("run_stage: usage: run_stage --marker M [--inputs ...] [--outputs ...] -- command ...", file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="run_stage")
    parser.add_argument("--marker", required=True)
    parser.add_argument("--inputs", nargs="*", default=[])
    parser.add_argument("--outputs", nargs="*", default=[])
    parser.add_argument("--name", default=None, help="label for log lines")
    parser.add_argument("--reset", nargs="*", default=[],
                        help="derived folders to delete before rerunning a stage that had finished with other inputs/options")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        parser.error("no command after --")
    name = args.name or args.marker
    fp = fingerprint(command, args.inputs)
    if is_done(args.marker, fp, args.outputs):
        print(f"[{name}] already done with the same inputs and options; skipping", file=sys.stderr)
        return 0
    if args.reset and os.path.isfile(args.marker):
        for path in args.reset:
            if os.path.isdir(path):
                print(f"[{name}] inputs or options changed since the last run; removing {path}", file=sys.stderr)
                shutil.rmtree(path)
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
