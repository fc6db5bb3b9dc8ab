"""INSIDE for gender classification: pick a small real training subset, then train and evaluate a
classifier with and without synthetic identities made from that subset.

    python -m embspace.bin.inside_gender select --spk2gender data/train/spk2gender --per-gender 3 \
        --seed 0 --out exp/inside/gender_speakers.txt
    (inside_identities --speakers exp/inside/gender_speakers.txt ..., synthesis, inside_make_data --embeddings-out ...)
    python -m embspace.bin.inside_gender eval --speakers exp/inside/gender_speakers.txt \
        --spk2gender data/train/spk2gender --train-scp exp/ge2e/embeddings/train/xvector.scp --train-utt2spk data/train/utt2spk \
        --synthetic-scp exp/x/inside/data/gender/xvector.scp --synthetic-data data/inside_x_gender \
        --test-scp exp/ge2e/embeddings/test/xvector.scp --test-data data/test --out-dir exp/x/inside/gender

The classifier is a logistic regression on utterance embeddings of a frozen speaker encoder (a
2-way head on an SV backbone; embspace/classify.py). Training on a few real speakers makes the task
informative (the real-only classifier errs now and then); the synthetic identities are interpolated
only between those same speakers, so the INSIDE classifier sees no label the real-only one does not.
The L2 weight of each classifier is chosen on the dev set (the real training speakers outside the
subset), never on the test set. Writes ``real.metrics.json`` and ``inside.metrics.json`` (accuracy,
error_rate in percent, dev figures) and ``*.predictions`` (utt, truth, predicted) for the test set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from embspace.classify import LogisticClassifier, error_rate
from embspace.cli.args import cli_parser
from embspace.data.tables import read_table, write_lines
from embspace.embio import read_embeddings
from embspace.inside.expand import read_speaker_list
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_gender", __doc__)
    p.add_argument("action", choices=["select", "eval"], help="choose the training subset, or train and evaluate")
    p.add_argument("--spk2gender", required=True, help="genders of the real training speakers")
    p.add_argument("--per-gender", type=int, default=3, help="select: real speakers per gender in the subset (default 3)")
    p.add_argument("--seed", type=int, default=0, help="select: seed of the choice")
    p.add_argument("--out", help="select: the speaker list to write")
    p.add_argument("--speakers", help="eval: the training subset (from select)")
    p.add_argument("--train-scp", help="eval: utterance embeddings of the real training set")
    p.add_argument("--train-utt2spk", help="eval: its utt2spk")
    p.add_argument("--synthetic-scp", help="eval: utterance embeddings of the synthetic identities (same encoder)")
    p.add_argument("--synthetic-data", help="eval: Kaldi dir of the synthetic identities (utt2spk, spk2gender)")
    p.add_argument("--test-scp", help="eval: utterance embeddings of the real test set")
    p.add_argument("--test-data", help="eval: Kaldi dir of the test set (utt2spk, spk2gender)")
    p.add_argument("--out-dir", help="eval: where the metrics and predictions go")
    return p


def _labelled(scp: str, utt2spk_path: str | Path, genders: dict, genders_path: object,
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


def _fit_on_dev(x: np.ndarray, y: list[str], dev_x: np.ndarray, dev_y: list[str]) -> tuple[LogisticClassifier, float, float]:
    """The classifier of the L2 weight with the lowest dev error (ties: the larger weight)."""
    best = None
    for l2 in sorted(L2_GRID, reverse=True):
        clf = LogisticClassifier.fit(x, y, l2)
        err = error_rate(clf.predict(dev_x), dev_y)
        if best is None or err < best[2]:
            best = (clf, l2, err)
    return best


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    genders = read_table(args.spk2gender)
    if args.action == "select":
        if not args.out:
            parser.error("select needs --out")
        rng = random.Random(f"inside-gender-{args.seed}")
        chosen = []
        for g in ("m", "f"):
            pool = sorted(s for s, v in genders.items() if v == g)
            if len(pool) < args.per_gender + 1:
                raise DataError(f"gender has {len(pool)} speakers; need more than --per-gender {args.per_gender} "
                                "(the rest is the dev set)", args.spk2gender, key=g)
            chosen += rng.sample(pool, args.per_gender)
        write_lines(args.out, sorted(chosen))
        print(f"inside_gender: {len(chosen)} training speakers -> {args.out}", file=sys.stderr)
        return 0
    needed = ("speakers", "train_scp", "train_utt2spk", "synthetic_scp", "synthetic_data", "test_scp", "test_data",
              "out_dir")
    missing = [n for n in needed if not getattr(args, n)]
    if missing:
        parser.error("eval needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
    subset = set(read_speaker_list(args.speakers))
    _, x, y = _labelled(args.train_scp, args.train_utt2spk, genders, args.spk2gender, subset)
    _, dev_x, dev_y = _labelled(args.train_scp, args.train_utt2spk, genders, args.spk2gender,
                                {s for s in genders if s not in subset})
    syn, test = Path(args.synthetic_data), Path(args.test_data)
    _, sx, sy = _labelled(args.synthetic_scp, syn / "utt2spk", read_table(syn / "spk2gender"), syn / "spk2gender")
    test_ids, tx, ty = _labelled(args.test_scp, test / "utt2spk", read_table(test / "spk2gender"), test / "spk2gender")
    dims = {x.shape[1], sx.shape[1], tx.shape[1]}
    if len(dims) != 1:
        raise DataError(f"embeddings of different dimensions {sorted(dims)}: use one encoder for all sets", args.synthetic_scp)
    out = Path(args.out_dir)
    results = {}
    n_syn = len(set(read_table(syn / "utt2spk").values()))
    for name, (trx, try_) in {"real": (x, y), "inside": (np.concatenate([x, sx]), y + sy)}.items():
        clf, l2, dev_err = _fit_on_dev(trx, try_, dev_x, dev_y)
        pred = clf.predict(tx)
        err = error_rate(pred, ty)
        results[name] = {"accuracy": round(100.0 - err, 3), "error_rate": round(err, 3), "dev_error_rate": round(dev_err, 3),
                         "l2": l2, "train_utterances": len(try_), "test_utterances": len(ty),
                         "real_speakers": len(subset), "synthetic_identities": n_syn if name == "inside" else 0}
        atomic_write_text(out / f"{name}.metrics.json", json.dumps(results[name], indent=1) + "\n")
        write_lines(out / f"{name}.predictions", [f"{u} {t} {p}" for u, t, p in zip(test_ids, ty, pred)])
    print("inside_gender: test error " + ", ".join(f"{k} {v['error_rate']:.2f}% (dev {v['dev_error_rate']:.2f}%)"
                                                   for k, v in results.items()) + f" -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
