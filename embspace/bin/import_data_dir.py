"""Import a Kaldi data dir (``wav.scp`` with files or ``cmd |`` pipes, ``utt2spk``, optional
``segments``, ``spk2gender``, ``text``, ``utt2lang``) as lhotse manifests, after validating it.

Example:
    python -m embspace.bin.import_data_dir --data-dir data/mycorpus_train --corpus mycorpus \\
        --split train --manifest-dir data/manifests

The tables are checked as strictly as Kaldi's validate_data_dir.sh, then every recording (each
pipe is run): readable, not empty, not truncated, sampling rate (or --resample), mono (or
--channel N). All bad recordings are reported together; nothing is written then.
"""

from __future__ import annotations

import sys

from embspace.cli.args import add_audio_options, cli_parser
from embspace.data.kaldi_dir import import_data_dir
from embspace.data.manifests import save_manifests
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("import_data_dir", __doc__)
    p.add_argument("--data-dir", required=True, help="the Kaldi data dir to import")
    p.add_argument("--corpus", required=True, help="corpus name, the prefix of the manifest file names")
    p.add_argument("--split", required=True, help="split name in the manifest file names (train, test...)")
    p.add_argument("--manifest-dir", required=True, help="where the lhotse manifests go")
    add_audio_options(p)
    args = p.parse_args(argv)
    recs, sups = import_data_dir(args.data_dir, args.sampling_rate, args.resample, args.channel, args.nj or None,
                                 bad_list=args.bad_list)
    rec_path, sup_path = save_manifests(recs, sups, args.manifest_dir, args.corpus, args.split)
    print(f"import_data_dir: {len(recs)} recordings, {len(sups)} supervisions -> {rec_path}, {sup_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
