"""Export an encoder model file (trained or imported) to TorchScript: fbank [B,T,F] in, embeddings [B,D] out.

Example:
    python -m embspace.bin.export_torchscript --model exp/ecapa/models/avg_model.pt --out exp/ecapa/models/model.ts

The file runs with ``torch.jit.load`` alone (no embspace code) and records the model's front-end (extra file
``embspace.json``), so ``extract --model model.ts`` and ``embspace.load_model("model.ts")`` compute the right
features. Checks the scripted encoder against the eager one.
"""

from __future__ import annotations

import sys

import torch

from embspace.cli.args import cli_parser
from embspace.extract import load_encoder
from embspace.torchscript_model import TorchScriptEncoder, export_torchscript
from embspace.utils.errors import cli_main


def parity(model: str, ts_path: str) -> float:
    """Max abs difference between eager and scripted embeddings of random features (B=3, T=157)."""
    encoder = load_encoder(model, torch.device("cpu"))
    feats = torch.randn(3, 157, encoder.feat_dim, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        return float((TorchScriptEncoder(ts_path)(feats) - encoder(feats)).abs().max())


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("export_torchscript", __doc__)
    p.add_argument("--model", required=True, help="embspace model file (avg_model.pt, or one from import_model)")
    p.add_argument("--out", required=True, help="TorchScript file to write (.ts)")
    args = p.parse_args(argv)
    meta = export_torchscript(args.model, args.out)
    diff = parity(args.model, args.out)
    print(f"export_torchscript: {args.model} -> {args.out} ({meta['model_type']}: feats [B,T,{meta['feat_dim']}] "
          f"-> embs [B,{meta['embed_dim']}]; max abs diff vs eager {diff:.2e})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
