#!/usr/bin/env python3
"""Check a Kaldi data dir as strictly as Kaldi's validate_data_dir.sh (see embspace.data.kaldi_dir.validate_data_dir):
every table UTF-8 without byte-order mark or CR, final newline, unique keys in LC_ALL=C order; utt2spk not empty
and sorted by speaker too; spk2utt its inverse; every per-utterance file (wav.scp, text, utt2dur, ...) has exactly
the utterances of utt2spk; segments with 0 <= start < end, recordings in wav.scp; durations > 0; spk2gender m/f for
every speaker; transcripts without reserved symbols or odd characters. Exits 1 naming the file, line and key at
fault (utils/fix_data_dir.py repairs order, CRLF, byte-order marks and missing utterances).

Kaldi's options are accepted. text and feats.scp are checked when present but, unlike Kaldi, required only with
--require-text / --require-feats (a speaker-recognition data dir has neither): --no-text and --no-feats change
nothing.

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
    p.add_argument("--no-wav", action="store_true", help="do not require wav.scp (checked if present)")
    p.add_argument("--no-spk-sort", action="store_true",
                   help="do not require utt2spk to be sorted by speaker (spk2utt must still list it in the same order)")
    p.add_argument("--non-print", action="store_true", help="allow non-printable characters in text")
    p.add_argument("--require-text", action="store_true", help="require text")
    p.add_argument("--require-feats", action="store_true", help="require feats.scp")
    p.add_argument("--no-text", action="store_true", help="accepted for Kaldi command lines (the default here)")
    p.add_argument("--no-feats", action="store_true", help="accepted for Kaldi command lines (the default here)")
    p.add_argument("dir", help="the data dir to check")
    args = p.parse_args(argv)
    warnings = validate_data_dir(args.dir, need_text=args.require_text and not args.no_text,
                                 need_feats=args.require_feats and not args.no_feats, need_wav=not args.no_wav,
                                 spk_sort=not args.no_spk_sort, printable=not args.non_print,
                                 option_hints=True)
    for w in warnings:
        print(f"validate_data_dir: warning: {w}", file=sys.stderr)
    print(f"Successfully validated data-directory {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
