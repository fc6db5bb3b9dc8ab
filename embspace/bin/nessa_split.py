"""Hold out training speakers as a NESSA dev set: mapper training utterances, dev utterances and dev trials.

    python -m embspace.bin.nessa_split --utt2spk data/train/utt2spk --num-dev-speakers 10 --out-dir data/nessa

Writes ``<out-dir>/train/utt2spk`` (the mapper's training utterances), ``<out-dir>/dev/utt2spk``
and ``<out-dir>/dev/trials`` (every pair of dev utterances). The dev speakers are drawn with
``--seed`` from the C-sorted speaker list, so the split is reproducible. The dev trials select
and early-stop the mapper; the test trials are never used for that. With ``--utts-per-profile N``
also ``<out-dir>/dev/profiles`` (``--profiles-per-speaker`` profiles of N dev utterances per dev
speaker) and ``<out-dir>/dev/trials_profiles`` (every profile against the other dev utterances):
``nessa_train --dev-profiles --dev-profile-trials`` chooses the profile averaging mode on them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from embspace.cli.args import cli_parser
from embspace.data.tables import read_table, write_lines, write_table
from embspace.data.trials import all_pairs, make_profiles, profile_trials
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("nessa_split", __doc__)
    p.add_argument("--utt2spk", required=True, help="the training set's utt2spk")
    p.add_argument("--num-dev-speakers", type=int, default=10, help="speakers held out for dev trials")
    p.add_argument("--seed", type=int, default=1, help="seed of the dev speaker draw")
    p.add_argument("--out-dir", required=True, help="writes train/utt2spk, dev/utt2spk, dev/trials here")
    p.add_argument("--utts-per-profile", type=int, default=0,
                   help="also write dev profiles of this many utterances and their trials (0: none)")
    p.add_argument("--profiles-per-speaker", type=int, default=2, help="dev profiles per dev speaker")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Draw the dev speakers, write the three lists."""
    args = build_parser().parse_args(argv)
    utt2spk = read_table(args.utt2spk)
    bad = next((k for k, v in utt2spk.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise DataError("expected one speaker per utterance", args.utt2spk, key=bad)
    speakers = sorted(set(utt2spk.values()))
    if not 1 <= args.num_dev_speakers <= len(speakers) - 2:
        raise DataError(f"--num-dev-speakers must be between 1 and {len(speakers) - 2} for {len(speakers)} speakers "
                        f"(at least two stay for training)", args.utt2spk)
    rng = np.random.default_rng(args.seed)
    dev_spk = set(rng.choice(speakers, size=args.num_dev_speakers, replace=False).tolist())
    dev = {u: s for u, s in utt2spk.items() if s in dev_spk}
    train = {u: s for u, s in utt2spk.items() if s not in dev_spk}
    dev_utts = sorted(dev)
    i, j, target = all_pairs(dev_utts, dev)
    if not target.any() or target.all():
        raise DataError("the dev speakers give no target or no non-target trials (too few utterances?)", args.utt2spk)
    profiles = test = None
    if args.utts_per_profile:
        try:
            profiles, test = make_profiles(dev, args.utts_per_profile, args.profiles_per_speaker, args.seed, args.utt2spk)
        except ValueError as e:
            raise DataError(str(e)) from None
    out = Path(args.out_dir)
    write_table(out / "train" / "utt2spk", train)
    write_table(out / "dev" / "utt2spk", dev)
    write_lines(out / "dev" / "trials", (f"{dev_utts[a]} {dev_utts[b]} {'target' if t else 'nontarget'}"
                                         for a, b, t in zip(i, j, target)))
    if profiles is not None:
        write_lines(out / "dev" / "profiles", (f"{name} {' '.join(u)}" for name, u in profiles.items()))
        write_lines(out / "dev" / "trials_profiles", profile_trials(profiles, test, dev))
    print(f"nessa_split: {len(train)} training utterances of {len(speakers) - len(dev_spk)} speakers; dev: "
          f"{len(dev)} utterances of {len(dev_spk)} speakers, {len(i)} trials -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
