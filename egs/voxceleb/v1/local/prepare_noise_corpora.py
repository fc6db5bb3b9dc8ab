#!/usr/bin/env python3
"""MUSAN and/or RIRS_NOISES manifests with lhotse's ids and names (no download), every file checked.

Examples:
    python local/prepare_noise_corpora.py --musan-root /corpora/musan --manifest-dir data/manifests
    python local/prepare_noise_corpora.py --rir-root /corpora/RIRS_NOISES --manifest-dir data/manifests
MUSAN (any of music/ speech/ noise/; ANNOTATIONS optional): ``musan_recordings_<part>.jsonl.gz``,
``musan_supervisions_music.jsonl.gz`` + ``musan_recordings_all.jsonl.gz`` (noise source for
augmentation). RIRS_NOISES (simulated_rirs/ required, the other parts when present):
``{sim-rir,real-rir,iso-noise,point-noise}_recordings_all.jsonl.gz``. All bad audio files are
reported together and nothing is written (see embspace/data/audio_check.py).
"""

from __future__ import annotations

import argparse
import sys

from embspace.bin._audio_options import add_audio_options
from embspace.data.noise_corpora import prepare_musan_manifests, prepare_rir_manifests
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_noise_corpora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--musan-root", default="", help="MUSAN folder (music/ speech/ noise/); '' = none")
    p.add_argument("--rir-root", default="", help="RIRS_NOISES folder (simulated_rirs/ ...); '' = none")
    p.add_argument("--manifest-dir", required=True, help="where the manifests go")
    add_audio_options(p, channel=False, bad_list=False)
    args = p.parse_args(argv)
    if not (args.musan_root or args.rir_root):
        p.error("give --musan-root and/or --rir-root")
    written = {}
    if args.musan_root:
        written.update(prepare_musan_manifests(args.musan_root, args.manifest_dir, args.sampling_rate, args.resample,
                                               args.nj or None))
    if args.rir_root:
        written.update(prepare_rir_manifests(args.rir_root, args.manifest_dir, args.sampling_rate, args.resample,
                                             args.nj or None))
    for name, path in written.items():
        print(f"prepare_noise_corpora: {name} -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
