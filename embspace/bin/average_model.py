"""Average the encoder weights of the last N epoch models: ``model_<e>.pt`` -> ``avg_model.pt``.

Example:
    python -m embspace.bin.average_model --model-dir exp/ecapa/models --num 3 --out exp/ecapa/models/avg_model.pt
"""

from __future__ import annotations

import sys

from embspace.cli.args import cli_parser
from embspace.training.checkpoint import average_models, epoch_models
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("average_model", __doc__)
    p.add_argument("--model-dir", required=True, help="folder with the epoch models model_<e>.pt")
    p.add_argument("--num", type=int, default=3, help="average the last N epoch models (default: %(default)s)")
    p.add_argument("--out", required=True, help="averaged model to write, e.g. <model-dir>/avg_model.pt")
    args = p.parse_args(argv)
    models = epoch_models(args.model_dir)
    if not models:
        raise DataError("no model_<epoch>.pt files", args.model_dir)
    chosen = [path for _, path in models[-args.num:]]
    average_models(chosen, args.out)
    print(f"average_model: averaged {', '.join(p.name for p in chosen)} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
