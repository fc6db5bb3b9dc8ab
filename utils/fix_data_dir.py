#!/usr/bin/env python3
"""Make a Kaldi data dir consistent: keep utterances present in every per-utterance file, C-sort every
table, regenerate spk2utt, drop speakers without utterances. Changed files are backed up in DIR/.backup/.

    utils/fix_data_dir.py data/train
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import fix_data_dir  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fix_data_dir", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="the data dir to fix in place")
    args = p.parse_args(argv)
    report = fix_data_dir(args.dir)
    for line in report.summary(args.dir).splitlines():
        print(f"fix_data_dir: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
