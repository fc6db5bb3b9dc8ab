"""lhotse manifests and Kaldi data dirs from a corpus ``metadata.jsonl``.

    python -m embspace.bin.prepare_manifests --metadata data/corpus/metadata.jsonl --corpus mini \
        --manifest-dir data/manifests --kaldi-dir data
Each metadata record needs ``utt``, ``speaker``, ``path`` (relative to the metadata file) and may
carry ``split``, ``gender``, ``language``, ``text`` and any other field (kept in
``supervision.custom``). Writes, per split, ``<corpus>_{recordings,supervisions}_<split>.jsonl.gz``
and ``<kaldi-dir>/<split>/{wav.scp,utt2spk,spk2utt,spk2gender,text,...}``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.data.kaldi_dir import export_data_dir
from embspace.data.manifests import build_manifests, read_metadata, save_manifests
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_manifests", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metadata", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--manifest-dir", required=True)
    p.add_argument("--kaldi-dir", default=None)
    p.add_argument("--sampling-rate", type=int, default=16000)
    args = p.parse_args(argv)
    entries = read_metadata(args.metadata)
    splits: dict[str, list[dict]] = {}
    for e in entries:
        splits.setdefault(e.get("split", "all"), []).append(e)
    # Validate every split before writing anything.
    built = {s: build_manifests(es, Path(args.metadata).parent, args.sampling_rate) for s, es in splits.items()}
    spk_split: dict[str, str] = {}
    for split, es in splits.items():
        for e in es:
            if spk_split.setdefault(e["speaker"], split) != split:
                raise DataError(f"speaker appears in splits '{spk_split[e['speaker']]}' and '{split}'", args.metadata, key=e["speaker"])
    for split, (recs, sups) in sorted(built.items()):
        save_manifests(recs, sups, args.manifest_dir, args.corpus, split)
        if args.kaldi_dir:
            export_data_dir(recs, sups, Path(args.kaldi_dir) / split)
        print(f"prepare_manifests: {split}: {len(recs)} utterances, {len(set(s.speaker for s in sups))} speakers, "
              f"{sum(r.duration for r in recs) / 3600:.2f} h", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
