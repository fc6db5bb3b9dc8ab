#!/usr/bin/env python3
"""Official VoxCeleb1 trial lists (``1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav``)
-> Kaldi trials (``id10270-x6uYqmx31kE-00001 id10270-8jEAjG6SegY-00008 target``) over the test manifests.

    python local/prepare_trials.py --trial-list /lists/veri_test2.txt --manifest-dir data/manifests \
        --out data/trials/vox1_O [--lhotse-cuts-dir data/manifests]
An utterance that is not in the test manifests, or a label that disagrees with the two speakers,
is an error naming the trial list and line. ``--lhotse-cuts-dir`` also writes lhotse's trial
CutSets ``voxceleb_{pos,neg}-trials_utt{1,2}.jsonl.gz`` (what ``prepare_voxceleb`` makes from Vox1-O).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lhotse import RecordingSet, SupervisionSet

from embspace.data.manifests import manifest_paths, supervision_speakers, write_manifest
from embspace.data.tables import write_lines
from embspace.data.voxceleb import convert_trials, kaldi_trial_lines, lhotse_trial_cuts
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_trials", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trial-list", required=True, help="official list: 1|0 <spk>/<youtube id>/<utt>.wav x2 per line")
    p.add_argument("--manifest-dir", required=True, help="folder of the lhotse manifests (stage 1)")
    p.add_argument("--corpus", default="voxceleb", help="manifest name prefix (default: %(default)s)")
    p.add_argument("--split", default="test", help="split whose supervisions hold the trial utterances (default: %(default)s)")
    p.add_argument("--out", required=True, help="Kaldi trials file to write")
    p.add_argument("--lhotse-cuts-dir", default=None, help="also write lhotse's pos/neg trial CutSets here")
    args = p.parse_args(argv)
    rec_path, sup_path = manifest_paths(args.manifest_dir, args.corpus, args.split)
    trials = convert_trials(args.trial_list, supervision_speakers(sup_path), manifest_name=str(sup_path))
    write_lines(args.out, kaldi_trial_lines(trials))
    n_target = sum(t for _, _, t, _ in trials)
    print(f"prepare_trials: {len(trials)} trials ({n_target} target) from {args.trial_list} -> {args.out}", file=sys.stderr)
    if args.lhotse_cuts_dir:
        cuts = lhotse_trial_cuts(trials, RecordingSet.from_file(rec_path), SupervisionSet.from_file(sup_path))
        for name, cutset in cuts.items():
            write_manifest(cutset, Path(args.lhotse_cuts_dir) / f"{args.corpus}_{name}.jsonl.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
