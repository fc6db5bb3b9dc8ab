#!/usr/bin/env python3
"""Check a Kaldi data dir as strictly as Kaldi's validate_data_dir.sh: unique keys; every per-utterance
file (wav.scp, text, utt2dur, ...) has exactly the utterances of utt2spk; segments point into wav.scp;
spk2utt is utt2spk inverted; spk2gender has every speaker and only m/f; every file LC_ALL=C sorted.
Exits 1 naming the file, line and key at fault (utils/fix_data_dir.py repairs most of it).

    utils/validate_data_dir.py data/train
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_dir import validate_data_dir  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="validate_data_dir", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", help="the data dir to check")
    args = p.parse_args(argv)
    validate_data_dir(args.dir)
    print(f"Successfully validated data-directory {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
