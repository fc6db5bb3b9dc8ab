"""INSIDE step 3: synthetic speech -> filters -> lhotse manifests, Kaldi dir, fbank, real + synthetic cuts.

    python -m embspace.bin.inside_make_data --identities exp/inside/nn_x1/identities --synth-dir exp/inside/synth/nn \
        --corpus inside_nn_x1 --manifest-dir data/manifests --kaldi-dir data/inside_nn_x1 \
        --encoder ge2e --real-spk-scp exp/ge2e/embeddings/train/spk_xvector.scp --min-self-sim 0.6 --max-real-sim 0.95 \
        --fbank-dir data/fbank --real-cuts data/fbank/mini_cuts_train.jsonl.gz --combined-cuts exp/inside/nn_x1/cuts_train.jsonl.gz \
        --report exp/inside/nn_x1/data_report.json

1. every identity must have been synthesised (``records/<id>.json`` from its conditioning vector);
2. filters (embspace/inside/filters.py): duration, self-similarity, too few utterances left, and
   the privacy bound on the cosine to every real speaker (``--real-spk-scp``, the training
   speakers, and ``--test-spk-scp``, the test speakers: no test speaker is cloned into the training
   data; in the ``--encoder`` space); embeddings of the synthetic utterances are cached per identity in
   ``<synth-dir>/emb.<encoder>/`` (shared by every data set built from that synthesis folder);
3. ``<manifest-dir>/<corpus>_{recordings,supervisions}_train.jsonl.gz`` and a Kaldi dir (wav.scp,
   utt2spk, spk2utt, spk2gender, text, utt2dur) of what was kept;
4. with ``--fbank-dir``: stored fbank ``<fbank-dir>/<corpus>_cuts_train.jsonl.gz``; with
   ``--real-cuts`` and ``--combined-cuts``: the real training cuts plus the synthetic ones, all of
   them or ``--mix-ratio`` of the result (cuts with stored features with ``--fbank-dir``, audio cuts
   for on-the-fly features and augmentation without). Counts of what each filter removed go to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from embspace.cli.args import cli_parser
from embspace.embio import read_embeddings
from embspace.inside.embed_cache import synthetic_embeddings
from embspace.inside.expand import combine_cuts
from embspace.inside.filters import FilterOptions, apply_filters, reference_speakers
from embspace.inside.identities import read_identities
from embspace.inside.synthesis import metadata_entries
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def _opt_float(text: str) -> float | None:
    return None if text.lower() in ("none", "") else float(text)


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_make_data", __doc__)
    p.add_argument("--identities", required=True, help="folder with identities.jsonl and conditioning.npy")
    p.add_argument("--synth-dir", required=True, help="synthesis folder (wav/, records/)")
    p.add_argument("--corpus", required=True, help="manifest name of the synthetic set, e.g. inside_nn_x1")
    p.add_argument("--manifest-dir", required=True, help="where the lhotse manifests go")
    p.add_argument("--kaldi-dir", required=True, help="Kaldi data dir of the kept synthetic utterances")
    f = p.add_argument_group("filters ('none' switches one off)")
    d = FilterOptions()
    f.add_argument("--min-dur", type=_opt_float, default=d.min_dur, help=f"seconds (default {d.min_dur})")
    f.add_argument("--max-dur", type=_opt_float, default=d.max_dur, help=f"seconds (default {d.max_dur})")
    f.add_argument("--min-self-sim", type=_opt_float, default=None,
                   help="drop utterances whose cosine to the rest of their identity is lower (default none)")
    f.add_argument("--max-real-sim", type=_opt_float, default=None,
                   help="privacy: drop identities whose cosine to a real speaker is higher (default none)")
    f.add_argument("--min-utts", type=int, default=d.min_utts, help=f"utterances an identity must keep (default {d.min_utts})")
    f.add_argument("--encoder", default="ge2e", help="encoder of the filter embeddings: 'ge2e' or a model file")
    f.add_argument("--real-spk-scp", help="real speakers' mean embeddings in the --encoder space (privacy filter)")
    f.add_argument("--test-spk-scp", help="test speakers' mean embeddings in the --encoder space: identities "
                                          "closer than --max-real-sim to one of them go too (privacy filter)")
    f.add_argument("--embeddings-out", help="also write the kept utterances' --encoder embeddings here (xvector.ark/scp)")
    c = p.add_argument_group("features and training cuts")
    c.add_argument("--fbank-dir", help="compute and store fbank of the kept utterances here")
    c.add_argument("--num-mel-bins", type=int, default=80, help="fbank bins (default 80)")
    c.add_argument("--real-cuts", help="real training cuts (with features) to combine with")
    c.add_argument("--combined-cuts", help="write real + synthetic training cuts here")
    c.add_argument("--mix-ratio", type=_opt_float, default=None,
                   help="share of synthetic utterances in the combined cuts (default none: all of them)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mixing subsample")
    p.add_argument("--nj", type=int, default=1, help="processes that embed the synthetic utterances")
    p.add_argument("--report", required=True, help="JSON report: filter counts, sizes")
    return p


def read_reference_speakers(train_scp: str | None, test_scp: str | None) -> tuple[list[str], np.ndarray | None, list[str]]:
    """The privacy filter's real speakers: the training speakers' means and, given, the test speakers'."""
    sets = {name: read_embeddings(path) for name, path in (("train", train_scp), ("test", test_scp)) if path}
    if not sets:
        return [], None, []
    return reference_speakers(sets)


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(1)
    if bool(args.real_cuts) != bool(args.combined_cuts):
        build_parser().error("--real-cuts and --combined-cuts go together")
    idents, cond = read_identities(args.identities)
    synth = Path(args.synth_dir)
    entries = metadata_entries(idents, cond, synth)
    opts = FilterOptions(args.min_dur, args.max_dur, args.min_self_sim, args.max_real_sim, args.min_utts)
    emb, real_ids, real_means, real_sets = None, [], None, None
    if opts.max_real_sim is not None:
        if not args.real_spk_scp:
            build_parser().error("--max-real-sim needs --real-spk-scp")
        real_ids, real_means, real_sets = read_reference_speakers(args.real_spk_scp, args.test_spk_scp)
    elif args.test_spk_scp:
        build_parser().error("--test-spk-scp needs --max-real-sim")
    if opts.min_self_sim is not None or opts.max_real_sim is not None or args.embeddings_out:
        emb = synthetic_embeddings(entries, synth, args.encoder, args.nj)
    keep, report = apply_filters([e["speaker"] for e in entries], [e["duration"] for e in entries], opts, emb,
                                 real_ids, real_means, real_sets)
    kept = [e for e, k in zip(entries, keep) if k]
    if not kept:
        raise DataError("every synthetic utterance was filtered out; loosen the filters", args.identities,
                        key="filters")
    from embspace.data.kaldi_dir import export_data_dir
    from embspace.data.manifests import build_manifests, save_manifests

    if args.embeddings_out:
        from embspace.embio import write_embeddings

        out = Path(args.embeddings_out)
        write_embeddings(out / "xvector.ark", out / "xvector.scp",
                         ((e["utt"], v) for e, v, k in zip(entries, emb, keep) if k))
    recs, sups = build_manifests(kept, synth)
    save_manifests(recs, sups, args.manifest_dir, args.corpus, "train")
    export_data_dir(recs, sups, args.kaldi_dir)
    print("inside_make_data: filters removed " + ", ".join(f"{k} {v}" for k, v in report["removed"].items())
          + f"; kept {report['kept_identities']} identities, {report['kept_utterances']} utterances", file=sys.stderr)
    from embspace.data.manifests import load_cuts
    from embspace.features.fbank import load_feature_cuts, write_feature_cuts

    cuts = load_cuts(args.manifest_dir, args.corpus, "train")  # audio cuts (on-the-fly features/augmentation)
    syn_path = Path(args.manifest_dir) / f"{args.corpus}_supervisions_train.jsonl.gz"
    if args.fbank_dir:
        from embspace.features.fbank import compute_and_store

        fb = Path(args.fbank_dir)
        syn_path = fb / f"{args.corpus}_cuts_train.jsonl.gz"
        cuts = compute_and_store(cuts, syn_path, fb / f"{args.corpus}_feats_train", args.num_mel_bins, args.nj)
    if args.combined_cuts:
        real = load_feature_cuts(args.real_cuts)
        if any(c.has_features for c in real) != bool(args.fbank_dir):
            raise DataError("real cuts with stored features combine with --fbank-dir, audio cuts without it",
                            args.real_cuts)
        combined, summary = combine_cuts(real, cuts, args.mix_ratio, args.seed, args.real_cuts, syn_path)
        write_feature_cuts(combined, args.combined_cuts)
        report["combined"] = {**summary, "mix_ratio": args.mix_ratio}
        print(f"inside_make_data: {summary['real_utterances']} real + {summary['synthetic_utterances']} synthetic "
              f"utterances ({summary['synthetic_speakers']} identities) -> {args.combined_cuts}", file=sys.stderr)
    report["hours"] = round(sum(e["duration"] for e in kept) / 3600, 4)
    atomic_write_text(args.report, json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
