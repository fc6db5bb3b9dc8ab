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

from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.extract import extractor_identity
from embspace.report import add_rows
from embspace.bin.seed_enhance import add_inference_options, inference_settings
from embspace.scoring.cosine import l2_normalize, map_trials, pair_scores, write_scores
from embspace.scoring.metrics import compute_all
from embspace.seed.checkpoint import check_dim, load_seed_model
from embspace.seed.enhance import enhance_table
from embspace.seed.evaluate import METRICS, mean_std
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="seed_evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="SEED model file")
    p.add_argument("--train-dir", required=True, help="training embeddings (xvector.scp, mean.vec) for the scoring mean")
    p.add_argument("--test-scp", required=True, action="append", help="test embeddings (repeatable; keys must not repeat)")
    p.add_argument("--trials", required=True, action="append", metavar="NAME=FILE", help="trial list (repeatable)")
    p.add_argument("--eval-seeds", type=_ints, default=[1, 2, 3], help="diffusion-noise seeds, e.g. 1,2,3")
    p.add_argument("--sweep", type=_ints, default=[10, 50, 100, 200], help="t* values of the sweep table")
    p.add_argument("--out-dir", required=True, help="SEED score files, metrics, sweep table")
    p.add_argument("--baseline-out-dir", required=True, help="score files and metrics of the un-enhanced system")
    p.add_argument("--results", help="results JSON to add rows to")
    p.add_argument("--system", help="name of the SEED system in the results")
    p.add_argument("--baseline", help="name of the un-enhanced system in the results")
    p.add_argument("--baseline-rows", default="", help="comma-separated lists that also get a baseline row")
    p.add_argument("--num-threads", type=int, default=1, help="torch CPU threads")
    add_inference_options(p)
    return p


def _sweep_markdown(sweep: dict, baseline: dict, lists: list[str]) -> str:
    head = "| t* | " + " | ".join(f"{n} EER (%) | {n} minDCF 0.05" for n in lists) + " |"
    lines = [head, "|" + "---:|" * (1 + 2 * len(lists))]
    cells = [f"{baseline[n]['eer']:.2f} | {baseline[n]['mindcf_0.05']:.4f}" for n in lists]
    lines.append("| baseline | " + " | ".join(cells) + " |")
    for t, per_list in sweep.items():
        cells = [f"{m['eer']:.2f} ± {m['eer_std']:.2f} | {m['mindcf_0.05']:.4f} ± {m['mindcf_0.05_std']:.4f}"
                 for m in (per_list[n] for n in lists)]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    lists: dict[str, tuple] = {}
    for item in args.trials:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--trials expects NAME=FILE, got {item!r}")
        trials = read_trials(path)
        if not trials:
            raise DataError("no trials", path)
        ei, ti = map_trials(trials, keys, keys, path)
        labels = np.array([t[2] for t in trials])
        lists[name] = (trials, ei, ti, labels)
    base_rows = [x for x in args.baseline_rows.split(",") if x]
    for name in base_rows:
        if name not in lists:
            parser.error(f"--baseline-rows: {name!r} is not a --trials name")

    def scores_of(emb: np.ndarray, mean: np.ndarray, name: str) -> np.ndarray:
        _, ei, ti, _ = lists[name]
        x = l2_normalize(emb, mean)
        return pair_scores(x, x, ei, ti)

    def metrics_of(scores: np.ndarray, name: str) -> dict[str, float]:
        return {k: float(v) for k, v in compute_all(scores, lists[name][3]).items() if k in METRICS}

    cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def enhanced(seed: int, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Enhanced (test, train mean) for one seed and t*."""
        if (seed, t) not in cache:
            tr = enhance_table(enhancer, train_keys, train_emb, seed, t, draws, ddim)
            te = enhance_table(enhancer, keys, test_emb, seed, t, draws, ddim)
            cache[(seed, t)] = (te, tr.mean(axis=0))
        return cache[(seed, t)]

    out, base_out = Path(args.out_dir), Path(args.baseline_out_dir)
    baseline = {}
    for name in lists:
        s = scores_of(test_emb, mean_vec, name)
        baseline[name] = metrics_of(s, name)
        if name in base_rows:
            write_scores(base_out / f"{name}.score", lists[name][0], s)
            atomic_write_text(base_out / f"{name}.metrics.json", json.dumps(baseline[name], indent=2) + "\n")
    summary = {}
    for name in lists:
        runs = []
        for seed in args.eval_seeds:
            te, mean = enhanced(seed, t_star)
            s = scores_of(te, mean, name)
            write_scores(out / f"{name}.seed{seed}.score", lists[name][0], s)
            runs.append(metrics_of(s, name))
        summary[name] = {**mean_std(runs), "runs": runs, "eval_seeds": args.eval_seeds}
        atomic_write_text(out / f"{name}.metrics.json", json.dumps(summary[name], indent=2) + "\n")
    sweep = {}
    for t in args.sweep:
        sweep[t] = {name: mean_std([metrics_of(scores_of(*enhanced(seed, t), name), name) for seed in args.eval_seeds])
                    for name in lists}
        for seed in args.eval_seeds:
            if t != t_star:
                cache.pop((seed, t), None)
    settings = {"t_star": t_star, "num_draws": draws, "ddim_steps": ddim, "eval_seeds": args.eval_seeds,
                "model_epoch": meta.get("epoch")}
    atomic_write_text(out / "sweep.json", json.dumps({"settings": settings, "baseline": baseline,
                                                      "sweep": {str(t): v for t, v in sweep.items()}}, indent=1) + "\n")
    atomic_write_text(out / "sweep.md", _sweep_markdown(sweep, baseline, list(lists)))

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
