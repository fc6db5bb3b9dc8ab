"""Extract utterance embeddings for one job of a split: ``<out-dir>/xvector.<job>.ark/scp``.

Example:
    python -m embspace.bin.extract --model exp/ecapa/models/avg_model.pt \
        --cuts data/fbank/mini_cuts_test.jsonl.gz --job 1 --nj 4 --out-dir exp/ecapa/embeddings/test
``--model ge2e`` uses the pretrained GE2E encoder shipped with resemblyzer (reads audio, not fbank).

With ``--copies-config conf/seed_mini.yaml`` it embeds augmented copies (noise, music,
reverberation) of the utterances a SEED config selects instead, keyed ``<utt>@<kind>@<draw>``;
features are then computed from the augmented audio. A model whose front-end differs from the stored
features' (an imported WeSpeaker model: Kaldi fbank) gets its features computed from the audio.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from embspace.cli.args import add_job_options, add_use_gpu, check_job_options, cli_parser, gpu_device
from embspace.embio import write_embeddings
from embspace.features.fbank import load_feature_cuts
from embspace.extract import audio_features_fn, embed_with_encoder, embed_with_ge2e, load_encoder, split_for_job
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("extract", __doc__)
    p.add_argument("--model", required=True, help="encoder model file (.pt, .onnx or .ts), or 'ge2e'")
    p.add_argument("--cuts", required=True, help="cut manifest (stored fbank; audio for ge2e or with --copies-config)")
    p.add_argument("--out-dir", required=True, help="writes xvector.<job>.ark/scp here")
    add_job_options(p, "the cuts")
    p.add_argument("--batch-size", type=int, default=1, help="utterances per forward pass, equal lengths only (default: %(default)s)")
    add_use_gpu(p, "run the encoder on CUDA")
    p.add_argument("--num-threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    g = p.add_argument_group("augmented copies (SEED training data)")
    g.add_argument("--copies-config", help="SEED YAML: embed augmented copies of the utterances its plan selects")
    g.add_argument("--noise-manifest", help="noise recordings/cuts (default: generated coloured noise)")
    g.add_argument("--music-manifest", help="music recordings/cuts (default: generated tonal music)")
    g.add_argument("--rir-manifest", help="RIR recordings (default: synthetic RIRs)")
    args = p.parse_args(argv)
    check_job_options(p, args)
    torch.set_num_threads(args.num_threads)
    device = gpu_device(args)
    all_cuts = sorted(load_feature_cuts(args.cuts), key=lambda c: c.id)
    if args.copies_config:
        from embspace.seed.copies import job_copies

        cuts = job_copies(all_cuts, args.copies_config, args.job, args.nj,
                          args.noise_manifest, args.music_manifest, args.rir_manifest)
    else:
        cuts = split_for_job(all_cuts, args.job, args.nj)
    if args.model == "ge2e":
        items = embed_with_ge2e(cuts, device)
    else:
        encoder = load_encoder(args.model, device)
        feature_fn = audio_features_fn(encoder, always=bool(args.copies_config))
        items = embed_with_encoder(encoder, cuts, device, args.batch_size, feature_fn)
    out = Path(args.out_dir)
    n = write_embeddings(out / f"xvector.{args.job}.ark", out / f"xvector.{args.job}.scp",
                         tqdm(items, total=len(cuts), desc=f"extract job {args.job}", mininterval=30, file=sys.stderr),
                         allow_empty=True)  # more jobs than utterances: this job's part is empty
    print(f"extract: job {args.job}/{args.nj}: {n} embeddings on {device}"
          f" (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
