#!/usr/bin/env python3
"""VoxCeleb1/2 lhotse manifests and Kaldi data dirs, offline (no trial-list download).

Example:
    python local/prepare_voxceleb.py --voxceleb1-root /corpora/VoxCeleb1 [--voxceleb2-root /corpora/VoxCeleb2] \
        --manifest-dir data/manifests --kaldi-dir data --nj 8
Writes ``<manifest-dir>/voxceleb_{recordings,supervisions}_{train,test}.jsonl.gz`` (lhotse's names
and ids), ``<manifest-dir>/voxceleb_cuts_train.jsonl.gz`` (audio cuts, for on-the-fly augmentation)
and the Kaldi dirs ``<kaldi-dir>/voxceleb_train`` and ``<kaldi-dir>/voxceleb1_test``. Every file is
checked first (readable, not empty, not truncated, 16 kHz, mono); all bad files are reported
together and nothing is written. All files and folders are renamed into place together at the end
(a stopped run leaves the previous set); a split with no data this time loses its old files.
"""

from __future__ import annotations

import argparse
import sys

from embspace.data.manifests import save_split_set
from embspace.data.voxceleb import prepare_voxceleb
from embspace.utils.errors import cli_main

KALDI_NAMES = {"train": "voxceleb_train", "test": "voxceleb1_test"}


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_voxceleb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--voxceleb1-root", default="", help="folder with wav/ and vox1_meta.csv ('' = none)")
    p.add_argument("--voxceleb2-root", default="", help="folder with [dev/]aac/... ('' = none)")
    p.add_argument("--vox2-ext", default="m4a", choices=["m4a", "wav"], help="m4a (as lhotse reads it) or wav (converted copy)")
    p.add_argument("--vox1-dev-in-train", default="true", choices=["true", "false"],
                   help="true: VoxCeleb1 dev trains (Kaldi/lhotse split); false: it joins the test set (Vox1-E/H)")
    p.add_argument("--manifest-dir", required=True, help="where the lhotse manifests go")
    p.add_argument("--kaldi-dir", required=True, help="where the Kaldi data dirs go")
    p.add_argument("--kaldi-pipes", action="store_true",
                   help="wav.scp reads .m4a files through ffmpeg pipes, for Kaldi's own tools (default: the files themselves)")
    p.add_argument("--resample", action="store_true", help="resample files not at 16 kHz (lhotse) instead of rejecting them")
    p.add_argument("--nj", type=int, default=1, help="processes for the audio check (default: %(default)s)")
    args = p.parse_args(argv)
    splits = prepare_voxceleb(args.voxceleb1_root or None, args.voxceleb2_root or None,
                              vox1_dev_in_train=args.vox1_dev_in_train == "true", vox2_ext=args.vox2_ext, num_jobs=args.nj,
                              resample=args.resample)
    kaldi_dirs = {split: f"{args.kaldi_dir}/{name}" for split, name in KALDI_NAMES.items()}
    # a split absent this time (e.g. no VoxCeleb1) loses the files of an earlier run, in the same commit
    save_split_set(splits, args.manifest_dir, "voxceleb", kaldi_dirs, cuts=["train"],
                   remove=[split for split in KALDI_NAMES if split not in splits], kaldi_pipes=args.kaldi_pipes)
    for split, (recs, sups) in splits.items():
        print(f"prepare_voxceleb: {split}: {len(recs)} utterances, {len({s.speaker for s in sups})} speakers, "
              f"{sum(r.duration for r in recs) / 3600:.2f} h -> {kaldi_dirs[split]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
