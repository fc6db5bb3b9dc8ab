#!/usr/bin/env python3
"""lhotse manifests and Kaldi data dirs of an emotional speech corpus (ESD, CREMA-D, Dusha crowd), offline.

    python local/prepare_emotion_corpus.py --corpus dusha --root /corpora/dusha --manifest-dir data/manifests \
        --kaldi-dir data [--test-fraction 0.1 | --test-speakers A,B,...] [--label speaker_emo]
Writes ``<manifest-dir>/<corpus>_{recordings,supervisions}_{train,test}.jsonl.gz`` (speaker-disjoint
split; ``supervision.custom["emotion"]`` in a common vocabulary: neutral, angry, happy, sad,
surprised, fearful, disgusted, positive) and ``<kaldi-dir>/{train,test}``. The expected trees and
labels are described in ``embspace/data/emotion_corpora.py``; what was left out is counted in the log.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.data.emotion_corpora import SCANNERS, scan_dusha, split_speakers
from embspace.data.manifests import build_manifests, save_split_set
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_emotion_corpus", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, choices=sorted(SCANNERS), help="which corpus the tree is")
    p.add_argument("--root", required=True, help="the corpus folder as unpacked")
    p.add_argument("--manifest-dir", required=True, help="where the lhotse manifests go")
    p.add_argument("--kaldi-dir", required=True, help="where the Kaldi dirs train/ and test/ go")
    p.add_argument("--test-fraction", type=float, default=0.1, help="share of speakers held out for testing")
    p.add_argument("--test-speakers", default="", help="comma list of test speakers (overrides --test-fraction)")
    p.add_argument("--label", default="speaker_emo", choices=["speaker_emo", "majority"],
                   help="Dusha: the acted emotion (speaker_emo) or the annotators' majority vote")
    p.add_argument("--unknown-emotion", default="error", choices=["error", "skip"],
                   help="a label outside the corpus vocabulary: stop (naming file and key) or leave it out (counted)")
    p.add_argument("--seed", type=int, default=1, help="seed of the speaker split")
    args = p.parse_args(argv)
    if args.corpus == "dusha":
        scan = scan_dusha(args.root, label=args.label, unknown=args.unknown_emotion)
    else:
        scan = SCANNERS[args.corpus](args.root, unknown=args.unknown_emotion)
    if not scan.entries:
        raise DataError("no usable utterance", args.root)
    split = split_speakers(scan.entries, args.test_fraction, [s for s in args.test_speakers.split(",") if s], args.seed)
    print(f"prepare_emotion_corpus: {args.corpus}: {scan.summary()}", file=sys.stderr)
    built = {}
    for part in ("train", "test"):  # check every file of both splits before writing anything
        entries = [{**e, "split": part} for e in scan.entries if split[e["speaker"]] == part]
        built[part] = build_manifests(entries, "/")
    save_split_set(built, args.manifest_dir, args.corpus, {part: Path(args.kaldi_dir) / part for part in built})
    for part, (recs, sups) in built.items():
        emo = sorted({s.custom["emotion"] for s in sups})
        print(f"prepare_emotion_corpus: {part}: {len(recs)} utterances, {len({s.speaker for s in sups})} speakers, "
              f"{sum(r.duration for r in recs) / 3600:.2f} h, emotions {', '.join(emo)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
