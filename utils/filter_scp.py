#!/usr/bin/env python3
"""Print the lines of SCP (stdin for - or none) whose key, field N (default 1), is in ID_LIST (first field
of each line); with --exclude, the lines whose key is not.

    utils/filter_scp.py data/test/utt.list data/train/wav.scp > wav.scp
    utils/filter_scp.py --exclude -f 2 bad_spk.list data/train/utt2spk
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import filter_scp, write_output  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="filter_scp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exclude", action="store_true", help="keep the lines whose key is NOT in the list")
    p.add_argument("-f", "--field", type=int, default=1, help="1-based field holding the key (default 1)")
    p.add_argument("id_list", help="file whose first field per line is an id to keep")
    p.add_argument("scp", nargs="?", default="-", help="table to filter (default: stdin)")
    args = p.parse_args(argv)
    if args.field < 1:
        p.error(f"-f must be >= 1, got {args.field}")
    scp = sys.stdin if args.scp == "-" else args.scp
    write_output(filter_scp(args.id_list, scp, exclude=args.exclude, field=args.field), None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
