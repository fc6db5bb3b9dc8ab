#!/usr/bin/env python3
"""VC-Mix from user-supplied VoxConverse SV segments: manifests, Kaldi dir and the trial list.

    python local/prepare_vcmix.py --voxconverse-root /corpora/voxconverse_test_SV \
        --vox1-trials data/trials/vox1_O --manifest-dir data/manifests --kaldi-dir data --out data/trials/vcmix
Reads ``<root>/trials_wo_overlap.txt`` (or ``--trial-list``), keeps its label-0 trials (different
speakers of one recording), writes ``<manifest-dir>/voxconverse_{recordings,supervisions}_sv.jsonl.gz``,
the Kaldi dir ``<kaldi-dir>/voxconverse_sv`` and ``--out`` = the target trials of ``--vox1-trials``
followed by those non-target trials (Kaldi format).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.data.manifests import save_split_set
from embspace.data.tables import read_trials, write_lines
from embspace.data.voxconverse import prepare_vcmix_segments
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_vcmix", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--voxconverse-root", required=True, help="folder of the VoxConverse SV segments")
    p.add_argument("--trial-list", default=None, help="default: <root>/trials_wo_overlap.txt")
    p.add_argument("--vox1-trials", required=True, help="Kaldi trials of Vox1-O (their target trials are kept)")
    p.add_argument("--manifest-dir", required=True, help="lhotse manifests go here")
    p.add_argument("--kaldi-dir", required=True, help="<kaldi-dir>/voxconverse_sv is written")
    p.add_argument("--out", required=True, help="the VC-Mix trial list (Kaldi format)")
    args = p.parse_args(argv)
    root = Path(args.voxconverse_root)
    trial_list = args.trial_list or root / "trials_wo_overlap.txt"
    recs, sups, pairs = prepare_vcmix_segments(root, trial_list)
    targets = [(e, t) for e, t, is_target in read_trials(args.vox1_trials) if is_target]
    if not targets:
        raise DataError("no target trials", args.vox1_trials)
    save_split_set({"sv": (recs, sups)}, args.manifest_dir, "voxconverse", {"sv": Path(args.kaldi_dir) / "voxconverse_sv"})
    write_lines(args.out, [f"{e} {t} target" for e, t in targets] + [f"{a} {b} nontarget" for a, b in pairs])
    print(f"prepare_vcmix: {len(targets)} Vox1-O target + {len(pairs)} VoxConverse non-target trials, "
          f"{len(recs)} segments -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
