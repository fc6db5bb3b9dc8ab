"""Score trial lists with and without SEED enhancement; mean ± std over evaluation seeds; a t* sweep.

    python -m embspace.bin.seed_evaluate --model exp/ecapa_mini_seed/seed_model.pt \
        --extractor exp/ecapa_mini/models/avg_model.pt --train-dir exp/ecapa_mini/embeddings/train \
        --test-scp exp/ecapa_mini/embeddings/test/xvector.scp --test-scp exp/ecapa_mini/embeddings/test_seed/xvector.scp \
        --trials mini_test=data/test/trials --trials mini_test_mismatch=data/test_seed/trials_mismatch \
        --out-dir exp/ecapa_mini_seed/scores --baseline-out-dir exp/ecapa_mini/scores_none \
        --results exp/results.json --system ecapa_mini_seed --baseline ecapa_mini --baseline-rows mini_test_mismatch

Scoring is cosine after subtracting the training mean (as ``embspace.bin.score``): the baseline
uses ``<train-dir>/mean.vec``; SEED enhances train and test embeddings alike and subtracts the
mean of the enhanced training embeddings. Writes ``<out-dir>/<list>.seed<S>.score`` and
``<list>.metrics.json`` (mean, std and per-seed values), ``sweep.json``/``sweep.md`` (every
``--sweep`` t* with the same seeds), the baseline's ``<baseline-out-dir>/<list>.score`` and
``.metrics.json``, and results rows: ``--system`` (method seed) per list, and the baseline system
for the lists named by ``--baseline-rows``.
"""

from __future__ import annotations

import argparse
import sys

import torch

from embspace.bin._seed_options import add_inference_options, inference_settings
from embspace.cli.args import cli_parser, name_values
from embspace.extract import extractor_identity
from embspace.seed.benchmark import evaluate_seed
from embspace.seed.checkpoint import load_seed_model
from embspace.seed.evaluate import Inference
from embspace.utils.errors import cli_main


def _int_list(text: str) -> list[int]:
    """``1,2,3`` as a list (an argparse type)."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("seed_evaluate", __doc__)
    p.add_argument("--model", required=True, help="SEED model file")
    p.add_argument("--train-dir", required=True, help="training embeddings (xvector.scp, mean.vec) for the scoring mean")
    p.add_argument("--test-scp", required=True, action="append", help="test embeddings (repeatable; keys must not repeat)")
    p.add_argument("--trials", required=True, action="append", metavar="NAME=FILE", help="trial list (repeatable)")
    p.add_argument("--eval-seeds", type=_int_list, default=[1, 2, 3], help="diffusion-noise seeds, e.g. 1,2,3")
    p.add_argument("--sweep", type=_int_list, default=[10, 50, 100, 200], help="t* values of the sweep table")
    p.add_argument("--out-dir", required=True, help="SEED score files, metrics, sweep table")
    p.add_argument("--baseline-out-dir", required=True, help="score files and metrics of the un-enhanced system")
    p.add_argument("--results", help="results JSON to add rows to")
    p.add_argument("--system", help="name of the SEED system in the results")
    p.add_argument("--baseline", help="name of the un-enhanced system in the results")
    p.add_argument("--baseline-rows", default="", help="comma-separated lists that also get a baseline row")
    p.add_argument("--num-threads", type=int, default=1, help="torch CPU threads")
    add_inference_options(p)
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Load the model, check the option combinations, evaluate."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.results and not (args.system and args.baseline):
        parser.error("--results needs --system and --baseline")
    if not args.eval_seeds:
        parser.error("--eval-seeds: give at least one seed")
    torch.set_num_threads(args.num_threads)
    identity = extractor_identity(args.extractor) if args.extractor else None
    enhancer, meta = load_seed_model(args.model, "cpu", identity)
    inference = Inference(*inference_settings(args, meta))
    trials = name_values(args.trials, parser, "--trials", "NAME=FILE", unique=False)
    base_rows = [x for x in args.baseline_rows.split(",") if x]
    for name in base_rows:
        if name not in trials:
            parser.error(f"--baseline-rows: {name!r} is not a --trials name")
    evaluate_seed(args, enhancer, meta, inference, trials, base_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
