"""Export an encoder model file (trained or imported) to ONNX: input ``feats`` [B,T,F], output ``embs`` [B,D].

Example:
    python -m embspace.bin.export_onnx --model exp/ecapa/models/avg_model.pt --out exp/ecapa/models/model.onnx \
        --mean-vec exp/ecapa/embeddings/train/mean.vec

Batch size and frame count are dynamic; the file is self-contained and records the model's front-end,
so ``extract --model model.onnx`` and ``embspace.load_model("model.onnx")`` compute the right features.
With ``--mean-vec`` the graph subtracts that mean embedding. Checks the export against PyTorch.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from embspace.cli.args import cli_parser
from embspace.embio import read_vector
from embspace.extract import load_encoder
from embspace.onnx_model import OnnxEncoder, export_onnx
from embspace.utils.errors import DataError, cli_main


def parity(model: str, onnx_path: str, mean: np.ndarray | None) -> float:
    """Max abs difference between PyTorch and ONNX Runtime embeddings of random features (B=3, T=157)."""
    encoder = load_encoder(model, torch.device("cpu"))
    feats = torch.randn(3, 157, encoder.feat_dim, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = encoder(feats).numpy() - (0 if mean is None else mean)
    return float(np.abs(OnnxEncoder(onnx_path)(feats).numpy() - expected).max())


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("export_onnx", __doc__)
    p.add_argument("--model", required=True, help="embspace model file (avg_model.pt, or one from import_model)")
    p.add_argument("--out", required=True, help="ONNX file to write")
    p.add_argument("--mean-vec", help="mean embedding (Kaldi or plain-text vector) subtracted inside the graph")
    args = p.parse_args(argv)
    mean = read_vector(args.mean_vec).astype(np.float32) if args.mean_vec else None
    try:
        meta = export_onnx(args.model, args.out, mean)
    except ImportError as e:
        raise DataError(f"ONNX export needs the onnx package ({e}); pip install 'embspace[onnx]'") from None
    diff = parity(args.model, args.out, mean)
    print(f"export_onnx: {args.model} -> {args.out} (feats [B,T,{meta['feat_dim']}] -> embs [B,{meta['embed_dim']}];"
          f" max abs diff vs PyTorch {diff:.2e})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
