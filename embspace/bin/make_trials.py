"""Kaldi trial lists from a data dir: every unordered pair of distinct test utterances.

    python -m embspace.bin.make_trials --data-dir data/test --out data/test/trials \
        [--same-gender-out data/test/trials_same_gender] [--max-trials 0 --seed 1]
``trials``: all pairs. ``trials_same_gender``: the target trials plus only those non-target trials
whose speakers share a gender (harder). Without ``spk2gender`` (gender is optional) the same-gender
list is skipped with a message, exit status 0, and a stale one is removed. ``--max-trials``
subsamples non-target trials deterministically when the full list would be too long.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from embspace.data.kaldi_dir import validate_data_dir
from embspace.data.tables import read_table, write_lines
from embspace.utils.errors import cli_main


def all_pairs(utts: list[str], utt2spk: dict[str, str], max_trials: int = 0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)`` with ``i < j`` and their target flags; keeps every target pair."""
    n = len(utts)
    i, j = np.triu_indices(n, k=1)
    spk = np.array([utt2spk[u] for u in utts])
    target = spk[i] == spk[j]
    if max_trials and len(i) > max_trials:
        rng = np.random.default_rng(seed)
        non = np.flatnonzero(~target)
        keep_non = rng.choice(non, size=max(0, max_trials - int(target.sum())), replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(target), keep_non]))
        i, j, target = i[keep], j[keep], target[keep]
    return i, j, target


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make_trials", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="Kaldi data dir of the test set (utt2spk, optionally spk2gender)")
    p.add_argument("--out", required=True, help="trial list of all pairs to write")
    p.add_argument("--same-gender-out", default=None,
                   help="also write the same-gender list here (skipped, with a message, without spk2gender)")
    p.add_argument("--max-trials", type=int, default=0, help="keep at most this many trials (all targets; 0: all)")
    p.add_argument("--seed", type=int, default=1, help="seed of the non-target subsampling (default: %(default)s)")
    args = p.parse_args(argv)
    d = Path(args.data_dir)
    validate_data_dir(d)
    utt2spk = read_table(d / "utt2spk")
    utts = sorted(utt2spk)
    i, j, target = all_pairs(utts, utt2spk, args.max_trials, args.seed)
    label = np.where(target, "target", "nontarget")
    write_lines(args.out, (f"{utts[a]} {utts[b]} {t}" for a, b, t in zip(i, j, label)))
    print(f"make_trials: {len(i)} trials ({int(target.sum())} target) -> {args.out}", file=sys.stderr)
    if args.same_gender_out:
        if not (d / "spk2gender").is_file():
            note = ""
            if os.path.lexists(args.same_gender_out):
                os.unlink(args.same_gender_out)  # left from data with genders: it no longer belongs to this data
                note = f"; removed the old {args.same_gender_out}"
            print(f"make_trials: skipping same-gender trials: {d / 'spk2gender'} does not exist (the data has no "
                  f"gender){note}", file=sys.stderr)
            return 0
        spk2gender = read_table(d / "spk2gender")
        gender = np.array([spk2gender.get(utt2spk[u], "?") for u in utts])
        keep = target | (gender[i] == gender[j])
        write_lines(args.same_gender_out, (f"{utts[a]} {utts[b]} {t}" for a, b, t in zip(i[keep], j[keep], label[keep])))
        print(f"make_trials: {int(keep.sum())} same-gender trials -> {args.same_gender_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
