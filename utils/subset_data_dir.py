#!/usr/bin/env python3
"""Write a subset of a Kaldi data dir: the utterances in a list, those of the speakers in a list, or the
first/last N utterances (C-sorted order). Ids not in the data dir are ignored.

    utils/subset_data_dir.py --spk-list spk.list data/train data/train_sub
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import subset_data_dir  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="subset_data_dir", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--utt-list", help="file whose first field is an utterance id")
    g.add_argument("--spk-list", help="file whose first field is a speaker id")
    g.add_argument("--first", type=int, help="the first N utterances")
    g.add_argument("--last", type=int, help="the last N utterances")
    p.add_argument("dir", help="source data dir")
    p.add_argument("out", help="subset data dir to write")
    args = p.parse_args(argv)
    subset_data_dir(args.dir, args.out, utt_list=args.utt_list, spk_list=args.spk_list, first=args.first, last=args.last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
