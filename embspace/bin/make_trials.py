"""Kaldi trial lists from a data dir: every unordered pair of distinct test utterances.

    python -m embspace.bin.make_trials --data-dir data/test --out data/test/trials \
        [--same-gender-out data/test/trials_same_gender] [--max-trials 0 --seed 1] \
        [--profiles-out data/test/profiles --profile-trials-out data/test/trials_profiles \
         --utts-per-profile 3 --profiles-per-speaker 2]
``trials``: all pairs. ``trials_same_gender``: the target trials plus only those non-target trials
whose speakers share a gender (harder). Without ``spk2gender`` (gender is optional) the same-gender
list is skipped with a message, exit status 0, and a stale one is removed. ``--max-trials``
subsamples non-target trials deterministically when the full list would be too long.
Multi-utterance enrollment: ``profiles`` (``<speaker>-enroll<k> <utt>...``, utterances drawn with
``--seed``) and ``trials_profiles``: every profile against every utterance not used for enrollment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.data.kaldi_dir import validate_data_dir
from embspace.data.tables import read_table
from embspace.data.trials import write_all_pairs, write_profiles, write_same_gender
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Check the options and the data dir, then write the lists."""
    p = cli_parser("make_trials", __doc__)
    p.add_argument("--data-dir", required=True, help="Kaldi data dir of the test set (utt2spk, optionally spk2gender)")
    p.add_argument("--out", help="trial list of all pairs to write")
    p.add_argument("--same-gender-out", default=None,
                   help="also write the same-gender list here (skipped, with a message, without spk2gender)")
    p.add_argument("--max-trials", type=int, default=0, help="keep at most this many trials (all targets; 0: all)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the non-target subsampling and of the profile draws (default: %(default)s)")
    p.add_argument("--profiles-out", help="write enrollment profiles here (<profile> <utt>...)")
    p.add_argument("--profile-trials-out", help="write profile-vs-utterance trials here (with --profiles-out)")
    p.add_argument("--utts-per-profile", type=int, default=3, help="enrollment utterances averaged into a profile")
    p.add_argument("--profiles-per-speaker", type=int, default=2, help="profiles per speaker (disjoint utterances)")
    args = p.parse_args(argv)
    if bool(args.profiles_out) != bool(args.profile_trials_out):
        p.error("--profiles-out and --profile-trials-out go together")
    if not args.out and not args.profiles_out:
        p.error("give --out, --profiles-out, or both")
    if args.same_gender_out and not args.out:
        p.error("--same-gender-out needs --out")
    d = Path(args.data_dir)
    validate_data_dir(d)
    utt2spk = read_table(d / "utt2spk")
    utts = sorted(utt2spk)
    if args.out:
        i, j, target = write_all_pairs(args.out, utts, utt2spk, args.max_trials, args.seed)
        if args.same_gender_out:
            write_same_gender(d, args.same_gender_out, utts, utt2spk, i, j, target)
    if args.profiles_out:
        write_profiles(args.profiles_out, args.profile_trials_out, utt2spk, args.utts_per_profile,
                       args.profiles_per_speaker, args.seed, d / "utt2spk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
