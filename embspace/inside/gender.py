"""INSIDE for gender classification (``embspace.bin.inside_gender``): choose a small real training
subset, then train and evaluate a classifier on embeddings with and without synthetic identities."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from embspace.classify import LogisticClassifier, error_rate
from embspace.data.tables import read_table, write_lines
from embspace.embio import read_embeddings
from embspace.inside.expand import read_speaker_list
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def select_speakers(spk2gender: str, per_gender: int, seed: int, out: str) -> list[str]:
    """``per_gender`` random speakers of each gender (the rest is the dev set), written to ``out``."""
    genders = read_table(spk2gender)
    rng = random.Random(f"inside-gender-{seed}")
    chosen = []
    for g in ("m", "f"):
        pool = sorted(s for s, v in genders.items() if v == g)
        if len(pool) < per_gender + 1:
            raise DataError(f"gender has {len(pool)} speakers; need more than --per-gender {per_gender} "
                            "(the rest is the dev set)", spk2gender, key=g)
        chosen += rng.sample(pool, per_gender)
    write_lines(out, sorted(chosen))
    return chosen


def labelled(scp: str, utt2spk_path: str | Path, genders: dict, genders_path: object,
             keep: set[str] | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """(utterance ids, embeddings, gender labels) of the utterances whose speaker is in ``keep``."""
    keys, emb = read_embeddings(scp)
    utt2spk = read_table(utt2spk_path)
    rows, ids, labels = [], [], []
    for i, k in enumerate(keys):
        spk = utt2spk.get(k)
        if spk is None:
            raise DataError(f"utterance in {scp} is missing from utt2spk", utt2spk_path, key=k)
        if keep is not None and spk not in keep:
            continue
        if spk not in genders:
            raise DataError("speaker has no gender", genders_path, key=spk)
        rows.append(i)
        ids.append(k)
        labels.append(genders[spk])
    if not rows:
        raise DataError("no utterances of the requested speakers", scp)
    return ids, emb[rows], labels


def fit_on_dev(x: np.ndarray, y: list[str], dev_x: np.ndarray, dev_y: list[str]) -> tuple[LogisticClassifier, float, float]:
    """The classifier of the L2 weight with the lowest dev error (ties: the larger weight)."""
    best = None
    for l2 in sorted(L2_GRID, reverse=True):
        clf = LogisticClassifier.fit(x, y, l2)
        err = error_rate(clf.predict(dev_x), dev_y)
        if best is None or err < best[2]:
            best = (clf, l2, err)
    return best


def evaluate_gender(args: argparse.Namespace) -> dict[str, dict]:
    """Train the real-only and the INSIDE classifier (L2 chosen on dev), evaluate on the test set,
    write ``<out-dir>/{real,inside}.metrics.json`` and ``.predictions``; returns the metrics."""
    genders = read_table(args.spk2gender)
    subset = set(read_speaker_list(args.speakers))
    _, x, y = labelled(args.train_scp, args.train_utt2spk, genders, args.spk2gender, subset)
    _, dev_x, dev_y = labelled(args.train_scp, args.train_utt2spk, genders, args.spk2gender,
                               {s for s in genders if s not in subset})
    syn, test = Path(args.synthetic_data), Path(args.test_data)
    _, sx, sy = labelled(args.synthetic_scp, syn / "utt2spk", read_table(syn / "spk2gender"), syn / "spk2gender")
    test_ids, tx, ty = labelled(args.test_scp, test / "utt2spk", read_table(test / "spk2gender"), test / "spk2gender")
    dims = {x.shape[1], sx.shape[1], tx.shape[1]}
    if len(dims) != 1:
        raise DataError(f"embeddings of different dimensions {sorted(dims)}: use one encoder for all sets", args.synthetic_scp)
    out = Path(args.out_dir)
    results = {}
    n_syn = len(set(read_table(syn / "utt2spk").values()))
    for name, (trx, try_) in {"real": (x, y), "inside": (np.concatenate([x, sx]), y + sy)}.items():
        clf, l2, dev_err = fit_on_dev(trx, try_, dev_x, dev_y)
        pred = clf.predict(tx)
        err = error_rate(pred, ty)
        results[name] = {"accuracy": round(100.0 - err, 3), "error_rate": round(err, 3), "dev_error_rate": round(dev_err, 3),
                         "l2": l2, "train_utterances": len(try_), "test_utterances": len(ty),
                         "real_speakers": len(subset), "synthetic_identities": n_syn if name == "inside" else 0}
        atomic_write_text(out / f"{name}.metrics.json", json.dumps(results[name], indent=1) + "\n")
        write_lines(out / f"{name}.predictions", [f"{u} {t} {p}" for u, t, p in zip(test_ids, ty, pred)])
    print("inside_gender: test error " + ", ".join(f"{k} {v['error_rate']:.2f}% (dev {v['dev_error_rate']:.2f}%)"
                                                   for k, v in results.items()) + f" -> {out}", file=sys.stderr)
    return results
