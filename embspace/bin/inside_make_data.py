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
import sys

import torch

from embspace.cli.args import cli_parser
from embspace.inside.dataset import make_training_data
from embspace.inside.filters import FilterOptions
from embspace.utils.errors import cli_main


def _opt_float(text: str) -> float | None:
    """A number, or None for 'none' (a filter switched off)."""
    return None if text.lower() in ("none", "") else float(text)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
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


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Check the option combinations, then filter, write and combine."""
    parser = build_parser()
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if bool(args.real_cuts) != bool(args.combined_cuts):
        parser.error("--real-cuts and --combined-cuts go together")
    if args.max_real_sim is not None and not args.real_spk_scp:
        parser.error("--max-real-sim needs --real-spk-scp")
    if args.max_real_sim is None and args.test_spk_scp:
        parser.error("--test-spk-scp needs --max-real-sim")
    make_training_data(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
