"""INSIDE step 1: pair real speakers inside gender groups and interpolate their embeddings.

    python -m embspace.bin.inside_identities --spk-scp exp/ge2e/embeddings/train/spk_xvector.scp \
        --spk2gender data/train/spk2gender --mode nn --k 4 --identities-factor 1.0 --interp slerp \
        --alpha 0.5 --seed 0 --out-dir exp/inside/nn_x1/identities

Writes ``<out-dir>/identities.jsonl`` (id, gender, parents, cosine, θ, α, interpolation, mode, group,
neighbour rank, seed), ``conditioning.npy`` (the interpolated vectors, in identities.jsonl order)
and ``pairs.log`` (counts per group, mean parent cosine). Speaker embeddings come from speaker
means (``--spk-scp``) or utterance embeddings with ``--utt2spk``; the conditioning vectors are
interpolated in ``--bank-scp`` (default: the same embeddings, i.e. pairing space = TTS space).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.cli.args import add_bool, cli_parser
from embspace.data.tables import read_table
from embspace.embio import mean_by_speaker, read_embeddings
from embspace.inside.expand import read_speaker_list
from embspace.inside.identities import DEFAULT_PREFIX, INTERPOLATIONS, make_identities, write_identities
from embspace.inside.pairing import MODES, select_pairs
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_identities", __doc__)
    src = p.add_argument_group("source speakers")
    src.add_argument("--spk-scp", help="speaker embeddings (e.g. spk_xvector.scp), or utterance embeddings with --utt2spk")
    src.add_argument("--utt2spk", help="average the --spk-scp utterance embeddings per speaker with this utt2spk")
    src.add_argument("--spk2gender", required=True, help="gender (m/f) of every source speaker")
    src.add_argument("--speakers", help="only pair these speakers (a list, one id per line)")
    src.add_argument("--bank-scp", help="conditioning vectors to interpolate, per speaker, in the TTS's own space "
                                        "(default: --spk-scp)")
    src.add_argument("--real-ids", nargs="*", default=[],
                     help="further files whose first field lists real speaker ids that synthetic ids must not hit")
    pr = p.add_argument_group("pairing")
    pr.add_argument("--mode", default="nn", choices=MODES, help="pair selection (default nn)")
    pr.add_argument("--k", type=int, default=1, help="nn: neighbours per speaker considered (default 1)")
    pr.add_argument("--max-children", type=int, default=0, help="cap on identities per parent (0: none)")
    n = pr.add_mutually_exclusive_group(required=True)
    n.add_argument("--num-identities", type=int, help="number of synthetic identities")
    n.add_argument("--identities-factor", type=float,
                   help="number of synthetic identities as a multiple of the real speakers paired")
    pr.add_argument("--gender-ratio", type=float, default=0.5, help="share of identities from the first group")
    pr.add_argument("--groups", default="m,f", help="gender groups to pair in (comma-separated, default m,f)")
    it = p.add_argument_group("interpolation")
    it.add_argument("--interp", default="slerp", choices=sorted(INTERPOLATIONS), help="default slerp")
    a = it.add_mutually_exclusive_group()
    a.add_argument("--alpha", type=float, default=0.5, help="interpolation weight of the second parent (default 0.5)")
    a.add_argument("--alpha-range", help="draw alpha uniformly from LOW,HIGH per identity")
    add_bool(it, "--rescale-norm", False, "give each result the mean norm of its parents' raw vectors instead of unit norm")
    it.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"synthetic speaker id prefix (default {DEFAULT_PREFIX})")
    p.add_argument("--seed", type=int, default=0, help="seed of random pairing, alpha draws and identity seeds")
    p.add_argument("--out-dir", required=True, help="where identities.jsonl and conditioning.npy go")
    return p


def _speaker_embeddings(args: argparse.Namespace) -> tuple[list[str], np.ndarray]:
    keys, emb = read_embeddings(args.spk_scp)
    if args.utt2spk:
        keys, emb, _ = mean_by_speaker(keys, emb, read_table(args.utt2spk), args.utt2spk, args.spk_scp)
    return keys, emb


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.spk_scp:
        build_parser().error("--spk-scp is required")
    ids, emb = _speaker_embeddings(args)
    genders = read_table(args.spk2gender)
    for spk, g in genders.items():
        if g not in ("m", "f"):
            raise DataError(f"gender must be m or f, got '{g}'", args.spk2gender, key=spk)
    real_ids = set(ids) | set(genders)
    for f in args.real_ids:
        real_ids |= set(read_table(f, min_fields=1))
    if args.speakers:
        keep = read_speaker_list(args.speakers)
        unknown = [s for s in keep if s not in set(ids)]
        if unknown:
            raise DataError("listed speaker has no embedding in " + args.spk_scp, args.speakers, key=unknown[0])
        index = {s: i for i, s in enumerate(ids)}
        ids, emb = sorted(keep), emb[[index[s] for s in sorted(keep)]]
    groups = [g for g in args.groups.split(",") if g]
    if args.num_identities is not None:
        num = args.num_identities
    else:
        paired = sum(1 for s in ids if genders.get(s) in groups)
        num = int(round(args.identities_factor * paired))
    pairs = select_pairs(ids, emb, genders, args.mode, num, args.k, args.max_children, args.gender_ratio, groups,
                         args.seed, source=args.spk_scp)
    if args.bank_scp:
        bank_ids, bank = read_embeddings(args.bank_scp)
    else:
        bank_ids, bank = ids, emb
    alpha: float | tuple[float, float] = args.alpha
    if args.alpha_range:
        try:
            lo, hi = (float(v) for v in args.alpha_range.split(","))
        except ValueError:
            build_parser().error(f"--alpha-range expects LOW,HIGH, got {args.alpha_range!r}")
        alpha = (lo, hi)
    idents, cond = make_identities(pairs, bank_ids, bank, args.mode, args.interp, alpha, args.seed, args.prefix,
                                   args.rescale_norm, real_ids, genders, source=args.bank_scp or args.spk_scp)
    out = Path(args.out_dir)
    write_identities(out, idents, cond)
    summary = {}
    for g in sorted({i.group for i in idents}):
        sub = [i for i in idents if i.group == g]
        parents = {p for i in sub for p in (i.parent_a, i.parent_b)}
        summary[g] = {"identities": len(sub), "parents": len(parents),
                      "mean_parent_cos": round(float(np.mean([i.cos for i in sub])), 4),
                      "mean_theta_deg": round(float(np.mean([i.theta_deg for i in sub])), 3)}
    atomic_write_text(out / "pairs.log", json.dumps({"mode": args.mode, "k": args.k, "num_identities": len(idents),
                                                     "groups": summary}, indent=1) + "\n")
    print(f"inside_identities: {len(idents)} identities ({args.mode}, {args.interp}, alpha {alpha}) from "
          f"{len(ids)} speakers; " + ", ".join(f"{g}: {v['identities']} (parent cos {v['mean_parent_cos']})"
                                               for g, v in summary.items()) + f" -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
