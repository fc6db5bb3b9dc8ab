#!/usr/bin/env python3
"""MUSAN and/or RIRS_NOISES manifests through lhotse's recipes (no download).

    python local/prepare_noise_corpora.py --musan-root /corpora/musan --manifest-dir data/manifests
    python local/prepare_noise_corpora.py --rir-root /corpora/RIRS_NOISES --manifest-dir data/manifests
MUSAN: ``musan_{recordings,supervisions}_<part>.jsonl.gz`` + ``musan_recordings_all.jsonl.gz`` (noise
source for augmentation). RIRS_NOISES: ``{point-noise,iso-noise,real-rir,sim-rir}_recordings_all.jsonl.gz``.
"""

from __future__ import annotations

import argparse
import sys

from embspace.data.noise_corpora import prepare_musan_manifests, prepare_rir_manifests
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_noise_corpora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--musan-root", default="")
    p.add_argument("--rir-root", default="")
    p.add_argument("--manifest-dir", required=True)
    args = p.parse_args(argv)
    if not (args.musan_root or args.rir_root):
        p.error("give --musan-root and/or --rir-root")
    written = {}
    if args.musan_root:
        written.update(prepare_musan_manifests(args.musan_root, args.manifest_dir))
    if args.rir_root:
        written.update(prepare_rir_manifests(args.rir_root, args.manifest_dir))
    for name, path in written.items():
        print(f"prepare_noise_corpora: {name} -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
