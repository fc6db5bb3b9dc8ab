"""Convert another toolkit's speaker model into an embspace model file (for extract, SEED, NESSA).

Example:
    python -m embspace.bin.import_model --from wespeaker \
        --checkpoint voxceleb_resnet34/avg_model.pt --config voxceleb_resnet34/config.yaml --out exp/ws_r34/avg_model.pt

WeSpeaker: ResNet18/34/50/101/152/221/293 and ECAPA_TDNN(_GLOB)_c512/c1024 (TSTP or ASTP pooling). The model
file records WeSpeaker's Kaldi fbank front-end, which extraction then computes from the audio.
``--from wespeaker-onnx`` takes WeSpeaker's own ONNX export (any architecture; feats [B,T,F] -> embs) and
writes a copy with that front-end recorded (``--out`` ending in .onnx).
"""

from __future__ import annotations

import sys

from embspace.cli.args import cli_parser
from embspace.interop.wespeaker import import_wespeaker, import_wespeaker_onnx
from embspace.models import build_model, count_parameters
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("import_model", __doc__)
    p.add_argument("--from", dest="toolkit", required=True, choices=["wespeaker", "wespeaker-onnx"], help="the model's toolkit")
    p.add_argument("--checkpoint", required=True, help="the toolkit's model (WeSpeaker: avg_model.pt, or its .onnx export)")
    p.add_argument("--config", required=True, help="the toolkit's training config (WeSpeaker: config.yaml)")
    p.add_argument("--out", required=True, help="embspace model file to write")
    args = p.parse_args(argv)
    if (args.toolkit == "wespeaker-onnx") != args.out.endswith(".onnx"):
        raise DataError("--out must end in .onnx exactly when importing an ONNX model", args.out)
    if args.toolkit == "wespeaker-onnx":
        meta = import_wespeaker_onnx(args.checkpoint, args.config, args.out)
        print(f"import_model: {args.checkpoint} (feats [B,T,{meta['feat_dim']}] -> embs [B,{meta['embed_dim']}]) "
              f"-> {args.out}", file=sys.stderr)
        return 0
    model_file = import_wespeaker(args.checkpoint, args.config)
    n = count_parameters(build_model(model_file["model_config"]), trainable_only=False)
    ckpt.save(model_file, args.out)
    print(f"import_model: {model_file['imported_from']['model']} ({n} parameters) -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
