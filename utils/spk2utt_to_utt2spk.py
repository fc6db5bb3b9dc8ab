#!/usr/bin/env python3
"""spk2utt -> utt2spk (in input order). Reads IN or stdin, writes OUT or stdout.

    utils/spk2utt_to_utt2spk.py data/train/spk2utt > data/train/utt2spk
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import read_input, spk2utt_lines_to_utt2spk, write_output  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="spk2utt_to_utt2spk", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=None, help="spk2utt file (default or -: stdin)")
    p.add_argument("output", nargs="?", default=None, help="utt2spk file (default or -: stdout)")
    args = p.parse_args(argv)
    lines, source = read_input(args.input)
    write_output(spk2utt_lines_to_utt2spk(lines, source), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
