#!/usr/bin/env python3
"""Combine Kaldi data dirs into OUT. A file that not every input has is left out (with a warning); an
utterance id in two inputs is an error.

    utils/combine_data.py data/train_all data/train data/train_aug
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import combine_data_dirs  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="combine_data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="combined data dir to write")
    p.add_argument("dirs", nargs="+", help="data dirs to combine")
    args = p.parse_args(argv)
    for name in combine_data_dirs(args.out, args.dirs):
        print(f"combine_data: warning: {name} is not in every input dir; left out of {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
