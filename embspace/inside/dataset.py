"""INSIDE step 3 (``embspace.bin.inside_make_data``): filter the synthetic speech, write its manifests
and Kaldi dir, (optionally) store its fbank, and combine it with the real training cuts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.embio import read_embeddings
from embspace.inside.embed_cache import synthetic_embeddings
from embspace.inside.expand import combine_cuts
from embspace.inside.filters import FilterOptions, apply_filters, reference_speakers
from embspace.inside.identities import read_identities
from embspace.inside.synthesis import metadata_entries
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


def read_reference_speakers(train_scp: str | None, test_scp: str | None) -> tuple[list[str], np.ndarray | None, list[str]]:
    """The privacy filter's real speakers: the training speakers' means and, given, the test speakers'."""
    sets = {name: read_embeddings(path) for name, path in (("train", train_scp), ("test", test_scp)) if path}
    if not sets:
        return [], None, []
    return reference_speakers(sets)


def filter_synthetic(args: argparse.Namespace, entries: list[dict], opts: FilterOptions) -> tuple[list[bool], dict, np.ndarray | None]:
    """Which utterances pass the filters, the filter report, and the ``--encoder`` embeddings (when computed)."""
    real_ids, real_means, real_sets = [], None, None
    if opts.max_real_sim is not None:
        real_ids, real_means, real_sets = read_reference_speakers(args.real_spk_scp, args.test_spk_scp)
    emb = None
    if opts.min_self_sim is not None or opts.max_real_sim is not None or args.embeddings_out:
        emb = synthetic_embeddings(entries, Path(args.synth_dir), args.encoder, args.nj)
    keep, report = apply_filters([e["speaker"] for e in entries], [e["duration"] for e in entries], opts, emb,
                                 real_ids, real_means, real_sets)
    return keep, report, emb


def write_kept(args: argparse.Namespace, entries: list[dict], keep: list[bool], emb: np.ndarray | None) -> None:
    """Manifests, Kaldi dir and (``--embeddings-out``) embeddings of the kept utterances."""
    from embspace.data.kaldi_dir import export_data_dir
    from embspace.data.manifests import build_manifests, save_manifests

    if args.embeddings_out:
        from embspace.embio import write_embeddings

        out = Path(args.embeddings_out)
        write_embeddings(out / "xvector.ark", out / "xvector.scp",
                         ((e["utt"], v) for e, v, k in zip(entries, emb, keep) if k))
    recs, sups = build_manifests([e for e, k in zip(entries, keep) if k], Path(args.synth_dir))
    save_manifests(recs, sups, args.manifest_dir, args.corpus, "train")
    export_data_dir(recs, sups, args.kaldi_dir)


def training_cuts(args: argparse.Namespace) -> dict | None:
    """Stored fbank (``--fbank-dir``) of the synthetic cuts and the combined training cuts
    (``--combined-cuts``); returns the combination's summary, or None."""
    from embspace.data.manifests import load_cuts
    from embspace.features.fbank import load_feature_cuts, write_feature_cuts

    cuts = load_cuts(args.manifest_dir, args.corpus, "train")  # audio cuts (on-the-fly features/augmentation)
    syn_path = Path(args.manifest_dir) / f"{args.corpus}_supervisions_train.jsonl.gz"
    if args.fbank_dir:
        from embspace.features.fbank import compute_and_store

        fb = Path(args.fbank_dir)
        syn_path = fb / f"{args.corpus}_cuts_train.jsonl.gz"
        cuts = compute_and_store(cuts, syn_path, fb / f"{args.corpus}_feats_train", args.num_mel_bins, args.nj)
    if not args.combined_cuts:
        return None
    real = load_feature_cuts(args.real_cuts)
    if any(c.has_features for c in real) != bool(args.fbank_dir):
        raise DataError("real cuts with stored features combine with --fbank-dir, audio cuts without it",
                        args.real_cuts)
    combined, summary = combine_cuts(real, cuts, args.mix_ratio, args.seed, args.real_cuts, syn_path)
    write_feature_cuts(combined, args.combined_cuts)
    print(f"inside_make_data: {summary['real_utterances']} real + {summary['synthetic_utterances']} synthetic "
          f"utterances ({summary['synthetic_speakers']} identities) -> {args.combined_cuts}", file=sys.stderr)
    return {**summary, "mix_ratio": args.mix_ratio}


def make_training_data(args: argparse.Namespace) -> dict:
    """Everything the options of ``inside_make_data`` ask for; writes and returns the report."""
    idents, cond = read_identities(args.identities)
    entries = metadata_entries(idents, cond, Path(args.synth_dir))
    opts = FilterOptions(args.min_dur, args.max_dur, args.min_self_sim, args.max_real_sim, args.min_utts)
    keep, report, emb = filter_synthetic(args, entries, opts)
    kept = [e for e, k in zip(entries, keep) if k]
    if not kept:
        raise DataError("every synthetic utterance was filtered out; loosen the filters", args.identities,
                        key="filters")
    write_kept(args, entries, keep, emb)
    print("inside_make_data: filters removed " + ", ".join(f"{k} {v}" for k, v in report["removed"].items())
          + f"; kept {report['kept_identities']} identities, {report['kept_utterances']} utterances", file=sys.stderr)
    combined = training_cuts(args)
    if combined is not None:
        report["combined"] = combined
    report["hours"] = round(sum(e["duration"] for e in kept) / 3600, 4)
    atomic_write_text(args.report, json.dumps(report, indent=1) + "\n")
    return report
