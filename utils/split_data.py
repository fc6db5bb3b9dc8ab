#!/usr/bin/env python3
"""Split a Kaldi data dir into N parts DIR/split<N>/1..N, by speaker (no speaker in two parts, near-equal
utterance counts) or, with --per-utt, by utterance into DIR/split<N>utt/1..N. An existing split newer than
the data dir is reused. Prints the part dirs.

    utils/split_data.py data/train 8
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import split_data  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="split_data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-utt", action="store_true", help="split by utterance; a speaker may span parts")
    p.add_argument("dir", help="the data dir to split")
    p.add_argument("n", type=int, help="number of parts")
    args = p.parse_args(argv)
    for part in split_data(args.dir, args.n, per_utt=args.per_utt):
        print(part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
