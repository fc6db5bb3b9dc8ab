"""INSIDE with Kokoro, step 0: the Kokoro voice packs as source identities, in INSIDE's input format.

    python -m embspace.bin.kokoro_sources --kokoro-dir data/kokoro --languages ab --out-dir exp/inside_kokoro/sources

Writes ``<out-dir>/spk_xvector.{ark,scp}`` (one 256-d vector per voice: the mean of its pack's rows,
the space pairing works in), ``bank.{ark,scp}`` (each voice's whole pack, flattened to 130560 values:
the conditioning bank), ``spk2gender`` (from the name prefix: af_/bf_/jf_… f, am_/bm_/jm_… m) and
``voices.list``. Then

    python -m embspace.bin.inside_identities --spk-scp <out-dir>/spk_xvector.scp --spk2gender <out-dir>/spk2gender \
        --bank-scp <out-dir>/bank.scp --rescale-norm true --prefix kokoro_ --num-identities 40 ...

pairs the voices by their summary vectors and SLERPs their whole packs (with the parents' mean length;
docs/inside_kokoro.md: measured as close to the target as row-by-row SLERP). Voices come from
``<kokoro-dir>/voices`` (local/prepare_kokoro.py), else the 5 PyPI packs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.data.tables import write_table
from embspace.embio import write_embeddings
from embspace.inside.kokoro_voices import load_voices, select_voices, summary_vector, voice_gender
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("kokoro_sources", __doc__)
    p.add_argument("--kokoro-dir", default=None, help="folder with voices/ (local/prepare_kokoro.py); without it "
                   "the 5 PyPI voice packs")
    p.add_argument("--languages", default="ab", help="voice language letters: a American English, b British "
                   "English, e es, f fr, h hi, i it, j ja, p pt-br, z zh; empty: all (default ab)")
    p.add_argument("--out-dir", required=True, help="where spk_xvector.{ark,scp}, bank.{ark,scp}, spk2gender, "
                   "voices.list go")
    args = p.parse_args(argv)
    packs = select_voices(load_voices(args.kokoro_dir), args.languages)
    genders = {name: voice_gender(name) for name in packs}
    for g in ("f", "m"):
        if sum(v == g for v in genders.values()) == 1:
            print(f"kokoro_sources: warning: only one voice of gender {g}; it cannot be paired", file=sys.stderr)
    if len(packs) < 2:
        raise DataError(f"{len(packs)} voice pack(s) of language(s) '{args.languages}': INSIDE needs at least two")
    out = Path(args.out_dir)
    write_embeddings(out / "spk_xvector.ark", out / "spk_xvector.scp",
                     ((name, summary_vector(pack)) for name, pack in packs.items()))
    write_embeddings(out / "bank.ark", out / "bank.scp", ((name, pack.reshape(-1)) for name, pack in packs.items()))
    write_table(out / "spk2gender", genders)
    atomic_write_text(out / "voices.list", "".join(f"{n}\n" for n in packs))
    print(f"kokoro_sources: {len(packs)} voices ({list(genders.values()).count('f')} f, "
          f"{list(genders.values()).count('m')} m) -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
