"""lhotse manifests and Kaldi data dirs from a corpus ``metadata.jsonl``.

Example:
    python -m embspace.bin.prepare_manifests --metadata data/corpus/metadata.jsonl --corpus mini \\
        --manifest-dir data/manifests --kaldi-dir data

Each metadata record needs ``utt``, ``speaker``, ``path`` (relative to the metadata file) and may
carry ``split``, ``gender`` (m/f), ``language``, ``text`` and any other field (kept in
``supervision.custom``). Without any ``split``, a speaker-disjoint train/test split is drawn
(``--test-fraction``, ``--split-seed``). Every audio file is checked first (readable, not empty,
not truncated, sampling rate, mono or ``--channel``); all bad files are reported together and
nothing is written. Writes, per split, ``<corpus>_{recordings,supervisions}_<split>.jsonl.gz``
and ``<kaldi-dir>/<split>/{wav.scp,utt2spk,spk2utt,...}`` (``spk2gender`` when every speaker
has a gender, ``text`` when every utterance has one). The files and folders of all splits are
written under temporary names and renamed into place together at the end: a run that fails or
is stopped leaves the previous set, not the test split of one run beside the train split of another.
"""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.cli.args import add_audio_options, add_bool, audio_policy, cli_parser
from embspace.data.manifests import build_manifests, read_metadata, save_split_set, split_entries
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("prepare_manifests", __doc__)
    p.add_argument("--metadata", required=True, help="metadata.jsonl, one JSON object per utterance")
    p.add_argument("--corpus", required=True, help="corpus name, the prefix of the manifest file names")
    p.add_argument("--manifest-dir", required=True, help="where the lhotse manifests go")
    p.add_argument("--kaldi-dir", default=None, help="also write Kaldi data dirs <kaldi-dir>/<split>")
    add_bool(p, "--kaldi-pipes", False, "wav.scp reads FLAC and other non-WAV files through sox/ffmpeg pipes, for "
                                        "Kaldi's own tools (false: the files themselves, which embspace reads directly)")
    p.add_argument("--test-fraction", type=float, default=0.25,
                   help="without 'split' in the metadata: fraction of speakers drawn for test (default: %(default)s; "
                        "0: everything is train)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of that draw (default: %(default)s)")
    add_audio_options(p)
    args = p.parse_args(argv)
    if not 0 <= args.test_fraction < 1:
        p.error(f"--test-fraction must be in [0, 1), got {args.test_fraction}")
    entries = read_metadata(args.metadata)
    splits, note = split_entries(entries, args.test_fraction, args.split_seed, args.metadata)
    if note:
        print(f"prepare_manifests: {note}", file=sys.stderr)
    # Check every file first; then write the manifests and Kaldi dirs of every split as one set.
    recs, sups = build_manifests(entries, Path(args.metadata).parent, audio_policy(args), args.nj or None, args.metadata)
    built = {}
    for split, es in sorted(splits.items()):
        ids = {e["utt"] for e in es}
        built[split] = (recs.filter(lambda r: r.id in ids).to_eager(), sups.filter(lambda s: s.id in ids).to_eager())
    kaldi_dirs = {split: Path(args.kaldi_dir) / split for split in built} if args.kaldi_dir else None
    save_split_set(built, args.manifest_dir, args.corpus, kaldi_dirs, kaldi_pipes=args.kaldi_pipes)
    for split, (split_recs, split_sups) in built.items():
        print(f"prepare_manifests: {split}: {len(split_recs)} utterances, {len({s.speaker for s in split_sups})} speakers, "
              f"{sum(r.duration for r in split_recs) / 3600:.2f} h", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
