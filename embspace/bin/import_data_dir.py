"""Import a Kaldi data dir (``wav.scp``, ``utt2spk``, optional ``segments``, ``spk2gender``,
``text``, ``utt2lang``) as lhotse manifests, after validating it.

    python -m embspace.bin.import_data_dir --data-dir data/mycorpus_train --corpus mycorpus \
        --split train --manifest-dir data/manifests
"""

from __future__ import annotations

import argparse
import sys

from embspace.data.kaldi_dir import import_data_dir
from embspace.data.manifests import save_manifests
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="import_data_dir", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--manifest-dir", required=True)
    p.add_argument("--sampling-rate", type=int, default=16000)
    args = p.parse_args(argv)
    recs, sups = import_data_dir(args.data_dir, args.sampling_rate)
    rec_path, sup_path = save_manifests(recs, sups, args.manifest_dir, args.corpus, args.split)
    print(f"import_data_dir: {len(recs)} recordings, {len(sups)} supervisions -> {rec_path}, {sup_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
