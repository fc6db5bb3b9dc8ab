"""SEED's test evaluation as ``embspace.bin.seed_evaluate`` runs it: read and check the embeddings and
trial lists, score with and without enhancement (:func:`embspace.seed.evaluate.evaluate_lists`), then
write the sweep table and the results rows."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.report import add_rows
from embspace.scoring.cosine import map_trials
from embspace.seed.checkpoint import check_dim
from embspace.seed.enhance import Enhancer
from embspace.seed.evaluate import METRICS, Evaluation, Inference, TrialList, evaluate_lists, sweep_markdown
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


def read_test_embeddings(scps: list[str], seed_cfg: dict, model: str) -> tuple[list[str], np.ndarray]:
    """The test embeddings of every scp, one table (a key in two scps is an error); dimensions checked."""
    keys: list[str] = []
    parts = []
    where: dict[str, str] = {}
    for scp in scps:
        k, e = read_embeddings(scp)
        check_dim(seed_cfg, e.shape[1], model, scp, k[0])
        for key in k:
            if key in where:
                raise DataError(f"key also in {where[key]}", scp, key=key)
            where[key] = scp
        keys += k
        parts.append(e)
    return keys, np.concatenate(parts)


def read_lists(trials: dict[str, str], keys: list[str]) -> dict[str, TrialList]:
    """``{name: trial list file}`` as :class:`TrialList` s over ``keys`` (an empty list is an error)."""
    lists: dict[str, TrialList] = {}
    for name, path in trials.items():
        tr = read_trials(path)
        if not tr:
            raise DataError("no trials", path)
        ei, ti = map_trials(tr, keys, keys, path)
        lists[name] = TrialList(tr, ei, ti, np.array([t[2] for t in tr]))
    return lists


def result_rows(args: argparse.Namespace, ev: Evaluation, inference: Inference, base_rows: list[str]) -> list[dict]:
    """The baseline system's rows (``base_rows``) and the SEED system's row of every list."""
    out, base_out = Path(args.out_dir), Path(args.baseline_out_dir)
    rows = [{"system": args.baseline, "method": "baseline", "trials": name, **ev.baseline[name],
             "score_file": str(base_out / f"{name}.score"), "norm": "none"} for name in base_rows]
    rows += [{"system": args.system, "method": "seed", "baseline": args.baseline, "trials": name,
              **{k: m[k] for k in METRICS}, "score_file": str(out / f"{name}.seed{args.eval_seeds[0]}.score"),
              "norm": "none", **{f"{k}_std": round(m[f"{k}_std"], 4) for k in METRICS},
              "eval_seeds": ",".join(map(str, args.eval_seeds)), "t_star": inference.t_star,
              "num_draws": inference.num_draws,
              "seeds": [{"seed": seed, **{k: run[k] for k in METRICS}, "score_file": str(out / f"{name}.seed{seed}.score")}
                        for seed, run in zip(args.eval_seeds, m["runs"])],
              **({"ddim_steps": inference.ddim_steps} if inference.ddim_steps > 1 else {})} for name, m in ev.summary.items()]
    return rows


def evaluate_seed(args: argparse.Namespace, enhancer: Enhancer, meta: dict, inference: Inference,
                  trials: dict[str, str], base_rows: list[str]) -> Evaluation:
    """Everything the options of ``seed_evaluate`` ask for once the model is loaded: read and check
    every input, score, write sweep.json/sweep.md (and the rows to ``--results``), print a summary."""
    train_scp = Path(args.train_dir) / "xvector.scp"
    train_keys, train_emb = read_embeddings(train_scp)
    check_dim(meta["seed"], train_emb.shape[1], args.model, train_scp, train_keys[0])
    mean_vec = read_vector(Path(args.train_dir) / "mean.vec")
    keys, test_emb = read_test_embeddings(args.test_scp, meta["seed"], args.model)
    lists = read_lists(trials, keys)
    out = Path(args.out_dir)
    ev = evaluate_lists(enhancer, (train_keys, train_emb), (keys, test_emb), mean_vec, lists, inference,
                        args.eval_seeds, args.sweep, out, Path(args.baseline_out_dir), base_rows)
    settings = {"t_star": inference.t_star, "num_draws": inference.num_draws, "ddim_steps": inference.ddim_steps,
                "eval_seeds": args.eval_seeds, "model_epoch": meta.get("epoch")}
    atomic_write_text(out / "sweep.json", json.dumps({"settings": settings, "baseline": ev.baseline,
                                                      "sweep": {str(t): v for t, v in ev.sweep.items()}}, indent=1) + "\n")
    atomic_write_text(out / "sweep.md", sweep_markdown(ev.sweep, ev.baseline, list(lists)))
    if args.results:
        add_rows(args.results, result_rows(args, ev, inference, base_rows))
    for name in lists:
        b, m = ev.baseline[name], ev.summary[name]
        print(f"seed_evaluate: {name}: EER {b['eer']:.2f}% -> {m['eer']:.2f} ± {m['eer_std']:.2f}%, "
              f"minDCF(0.05) {b['mindcf_0.05']:.4f} -> {m['mindcf_0.05']:.4f} ± {m['mindcf_0.05_std']:.4f}",
              file=sys.stderr)
    return ev
