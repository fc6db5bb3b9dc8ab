#!/usr/bin/env python3
"""Check a Kaldi data dir (unique keys, every utterance has audio and a speaker, spk2utt agrees with utt2spk,
spk2gender is m/f); exits 1 naming the file and key at fault.

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
    p.add_argument("dir")
    args = p.parse_args(argv)
    validate_data_dir(args.dir)
    print(f"Successfully validated data-directory {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
