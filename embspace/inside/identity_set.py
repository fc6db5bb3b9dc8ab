"""INSIDE step 1 as a whole (``embspace.bin.inside_identities``): read the source speakers, pair them
inside gender groups, interpolate, write identities.jsonl, conditioning.npy and pairs.log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.data.tables import read_table
from embspace.embio import mean_by_speaker, read_embeddings
from embspace.inside.expand import read_speaker_list
from embspace.inside.identities import Identity, make_identities, write_identities
from embspace.inside.pairing import select_pairs
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


def speaker_embeddings(spk_scp: str, utt2spk: str | None) -> tuple[list[str], np.ndarray]:
    """Speaker embeddings of ``spk_scp`` (per-speaker means of utterance embeddings with ``utt2spk``)."""
    ids, emb = read_embeddings(spk_scp)
    if utt2spk:
        ids, emb, _ = mean_by_speaker(ids, emb, read_table(utt2spk), utt2spk, spk_scp)
    return ids, emb


def only_listed(ids: list[str], emb: np.ndarray, speakers: str, source: str) -> tuple[list[str], np.ndarray]:
    """The speakers of the list file ``speakers`` (sorted), each of which must have an embedding."""
    keep = read_speaker_list(speakers)
    unknown = [s for s in keep if s not in set(ids)]
    if unknown:
        raise DataError("listed speaker has no embedding in " + source, speakers, key=unknown[0])
    index = {s: i for i, s in enumerate(ids)}
    return sorted(keep), emb[[index[s] for s in sorted(keep)]]


def read_genders(spk2gender: str) -> dict[str, str]:
    """``spk2gender``, every value m or f."""
    genders = read_table(spk2gender)
    for spk, g in genders.items():
        if g not in ("m", "f"):
            raise DataError(f"gender must be m or f, got '{g}'", spk2gender, key=spk)
    return genders


def group_summary(idents: list[Identity]) -> dict[str, dict]:
    """Per group: identities, distinct parents, mean parent cosine and angle."""
    summary = {}
    for g in sorted({i.group for i in idents}):
        sub = [i for i in idents if i.group == g]
        parents = {p for i in sub for p in (i.parent_a, i.parent_b)}
        summary[g] = {"identities": len(sub), "parents": len(parents),
                      "mean_parent_cos": round(float(np.mean([i.cos for i in sub])), 4),
                      "mean_theta_deg": round(float(np.mean([i.theta_deg for i in sub])), 3)}
    return summary


def make_identity_set(args: argparse.Namespace, alpha: float | tuple[float, float]) -> list[Identity]:
    """The identities the options of ``inside_identities`` ask for, written to ``args.out_dir``."""
    ids, emb = speaker_embeddings(args.spk_scp, args.utt2spk)
    genders = read_genders(args.spk2gender)
    real_ids = set(ids) | set(genders)
    for f in args.real_ids:
        real_ids |= set(read_table(f, min_fields=1))
    if args.speakers:
        ids, emb = only_listed(ids, emb, args.speakers, args.spk_scp)
    groups = [g for g in args.groups.split(",") if g]
    if args.num_identities is not None:
        num = args.num_identities
    else:
        num = int(round(args.identities_factor * sum(1 for s in ids if genders.get(s) in groups)))
    pairs = select_pairs(ids, emb, genders, args.mode, num, args.k, args.max_children, args.gender_ratio, groups,
                         args.seed, source=args.spk_scp)
    bank_ids, bank = read_embeddings(args.bank_scp) if args.bank_scp else (ids, emb)
    idents, cond = make_identities(pairs, bank_ids, bank, args.mode, args.interp, alpha, args.seed, args.prefix,
                                   args.rescale_norm, real_ids, genders, source=args.bank_scp or args.spk_scp)
    out = Path(args.out_dir)
    write_identities(out, idents, cond)
    summary = group_summary(idents)
    atomic_write_text(out / "pairs.log", json.dumps({"mode": args.mode, "k": args.k, "num_identities": len(idents),
                                                     "groups": summary}, indent=1) + "\n")
    print(f"inside_identities: {len(idents)} identities ({args.mode}, {args.interp}, alpha {alpha}) from "
          f"{len(ids)} speakers; " + ", ".join(f"{g}: {v['identities']} (parent cos {v['mean_parent_cos']})"
                                               for g, v in summary.items()) + f" -> {out}", file=sys.stderr)
    return idents
