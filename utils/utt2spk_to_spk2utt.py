#!/usr/bin/env python3
"""utt2spk -> spk2utt (speakers in order of first appearance). Reads IN or stdin, writes OUT or stdout.

    utils/utt2spk_to_spk2utt.py data/train/utt2spk > data/train/spk2utt
"""

import argparse
import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.data.kaldi_utils import read_input, utt2spk_lines_to_spk2utt, write_output  # noqa: E402
from embspace.utils.errors import cli_main  # noqa: E402


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="utt2spk_to_spk2utt", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=None, help="utt2spk file (default or -: stdin)")
    p.add_argument("output", nargs="?", default=None, help="spk2utt file (default or -: stdout)")
    args = p.parse_args(argv)
    lines, source = read_input(args.input)
    write_output(utt2spk_lines_to_spk2utt(lines, source), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
