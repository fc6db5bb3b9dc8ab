"""Merge per-job ``xvector.JOB.scp`` into ``xvector.scp``; with ``--utt2spk`` also write speaker
means ``spk_xvector.ark/scp`` and ``num_utts.ark``, and the global mean ``mean.vec``.

With ``--final-dir``, ``--dir`` is a temporary folder: its scp files are rewritten to point into
``--final-dir`` and the whole folder then replaces ``--final-dir`` as one unit (the old embeddings
stay whole until the new ones are complete; ``steps/extract_embeddings.sh`` works this way).

Example:
    python -m embspace.bin.merge_embeddings --dir exp/ecapa/embeddings/test --nj 4 --utt2spk data/test/utt2spk
"""

from __future__ import annotations

import sys
from pathlib import Path

import kaldiio

from embspace.cli.args import cli_parser
from embspace.embio import merge_scps, read_embeddings, rebase_scp, speaker_means
from embspace.utils.atomic import atomic_path, swap_in_dir
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("merge_embeddings", __doc__)
    p.add_argument("--dir", required=True, help="embedding dir holding xvector.<job>.scp")
    p.add_argument("--nj", type=int, required=True, help="number of jobs the embeddings were extracted with")
    p.add_argument("--utt2spk", default=None, help="also write per-speaker means (spk_xvector.ark/scp, num_utts.ark)")
    p.add_argument("--final-dir", default=None,
                   help="swap --dir in as this folder when merged (scp paths rewritten), e.g. exp/ecapa/embeddings/test")
    args = p.parse_args(argv)
    d = Path(args.dir)
    n = merge_scps([d / f"xvector.{j}.scp" for j in range(1, args.nj + 1)], d / "xvector.scp")
    _, emb = read_embeddings(d / "xvector.scp")
    with atomic_path(d / "mean.vec") as tmp:
        kaldiio.save_mat(str(tmp), emb.mean(axis=0))
    msg = f"merge_embeddings: {n} utterances, dim {emb.shape[1]}"
    if args.utt2spk:
        counts = speaker_means(d / "xvector.scp", args.utt2spk, d / "spk_xvector.ark", d / "spk_xvector.scp", d / "num_utts.ark")
        msg += f", {len(counts)} speakers"
    if args.final_dir:
        for scp in sorted(d.glob("*.scp")):
            rebase_scp(scp, d, args.final_dir)
        swap_in_dir(d, args.final_dir)
    print(msg + f" -> {args.final_dir or d}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
