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
import json
import sys
from pathlib import Path

import numpy as np
import torch

from embspace.bin._seed_options import add_inference_options, inference_settings
from embspace.cli.args import cli_parser, name_values
from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.extract import extractor_identity
from embspace.report import add_rows
from embspace.scoring.cosine import map_trials
from embspace.seed.checkpoint import check_dim, load_seed_model
from embspace.seed.evaluate import METRICS, Inference, TrialList, evaluate_lists, sweep_markdown
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def _int_list(text: str) -> list[int]:
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.results and not (args.system and args.baseline):
        parser.error("--results needs --system and --baseline")
    if not args.eval_seeds:
        parser.error("--eval-seeds: give at least one seed")
    torch.set_num_threads(args.num_threads)
    identity = extractor_identity(args.extractor) if args.extractor else None
    enhancer, meta = load_seed_model(args.model, "cpu", identity)
    t_star, draws, ddim = inference_settings(args, meta)
    # read and check everything first
    train_keys, train_emb = read_embeddings(Path(args.train_dir) / "xvector.scp")
    check_dim(meta["seed"], train_emb.shape[1], args.model, Path(args.train_dir) / "xvector.scp", train_keys[0])
    mean_vec = read_vector(Path(args.train_dir) / "mean.vec")
    keys: list[str] = []
    parts = []
    where: dict[str, str] = {}
    for scp in args.test_scp:
        k, e = read_embeddings(scp)
        check_dim(meta["seed"], e.shape[1], args.model, scp, k[0])
        for key in k:
            if key in where:
                raise DataError(f"key also in {where[key]}", scp, key=key)
            where[key] = scp
        keys += k
        parts.append(e)
    test_emb = np.concatenate(parts)
    lists: dict[str, TrialList] = {}
    for name, path in name_values(args.trials, parser, "--trials", "NAME=FILE", unique=False).items():
        trials = read_trials(path)
        if not trials:
            raise DataError("no trials", path)
        ei, ti = map_trials(trials, keys, keys, path)
        lists[name] = TrialList(trials, ei, ti, np.array([t[2] for t in trials]))
    base_rows = [x for x in args.baseline_rows.split(",") if x]
    for name in base_rows:
        if name not in lists:
            parser.error(f"--baseline-rows: {name!r} is not a --trials name")

    out, base_out = Path(args.out_dir), Path(args.baseline_out_dir)
    ev = evaluate_lists(enhancer, (train_keys, train_emb), (keys, test_emb), mean_vec, lists,
                        Inference(t_star, draws, ddim), args.eval_seeds, args.sweep, out, base_out, base_rows)
    baseline, summary, sweep = ev.baseline, ev.summary, ev.sweep
    settings = {"t_star": t_star, "num_draws": draws, "ddim_steps": ddim, "eval_seeds": args.eval_seeds,
                "model_epoch": meta.get("epoch")}
    atomic_write_text(out / "sweep.json", json.dumps({"settings": settings, "baseline": baseline,
                                                      "sweep": {str(t): v for t, v in sweep.items()}}, indent=1) + "\n")
    atomic_write_text(out / "sweep.md", sweep_markdown(sweep, baseline, list(lists)))

    if args.results:
        rows = [{"system": args.baseline, "method": "baseline", "trials": name, **baseline[name],
                 "score_file": str(base_out / f"{name}.score"), "norm": "none"} for name in base_rows]
        rows += [{"system": args.system, "method": "seed", "baseline": args.baseline, "trials": name,
                  **{k: m[k] for k in METRICS}, "score_file": str(out / f"{name}.seed{args.eval_seeds[0]}.score"),
                  "norm": "none", **{f"{k}_std": round(m[f"{k}_std"], 4) for k in METRICS},
                  "eval_seeds": ",".join(map(str, args.eval_seeds)), "t_star": t_star, "num_draws": draws,
                  "seeds": [{"seed": seed, **{k: run[k] for k in METRICS}, "score_file": str(out / f"{name}.seed{seed}.score")}
                            for seed, run in zip(args.eval_seeds, m["runs"])],
                  **({"ddim_steps": ddim} if ddim > 1 else {})} for name, m in summary.items()]
        add_rows(args.results, rows)
    for name in lists:
        b, m = baseline[name], summary[name]
        print(f"seed_evaluate: {name}: EER {b['eer']:.2f}% -> {m['eer']:.2f} ± {m['eer_std']:.2f}%, "
              f"minDCF(0.05) {b['mindcf_0.05']:.4f} -> {m['mindcf_0.05']:.4f} ± {m['mindcf_0.05_std']:.4f}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
