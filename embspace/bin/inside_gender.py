"""INSIDE for gender classification: pick a small real training subset, then train and evaluate a
classifier with and without synthetic identities made from that subset.

    python -m embspace.bin.inside_gender select --spk2gender data/train/spk2gender --per-gender 3 \
        --seed 0 --out exp/inside/gender/speakers.txt
    (inside_identities --speakers exp/inside/gender/speakers.txt ..., synthesis, inside_make_data --fbank-dir ...)
    python -m embspace.bin.inside_gender eval --speakers exp/inside/gender/speakers.txt \
        --real-cuts data/fbank/mini_cuts_train.jsonl.gz --spk2gender data/train/spk2gender \
        --synthetic-cuts data/fbank/inside_gender_cuts_train.jsonl.gz --synthetic-spk2gender data/inside_gender/spk2gender \
        --test-cuts data/fbank/mini_cuts_test.jsonl.gz --test-spk2gender data/test/spk2gender --out-dir exp/inside/gender

The classifier is a logistic regression on utterance statistics of fbank (embspace/classify.py).
Training on a few real speakers makes the task informative (the real-only classifier errs now and
then); the synthetic identities are interpolated only between those same speakers, so the INSIDE
classifier sees no label the real-only one does not. The L2 weight of each classifier is chosen on
the dev set (the real training speakers outside the subset), never on the test set. Writes
``real.metrics.json`` and ``inside.metrics.json`` (accuracy, error_rate in percent, dev figures),
and ``*.predictions`` (utt, truth, predicted) for the test set.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from embspace.classify import LogisticClassifier, cut_stats, error_rate
from embspace.data.tables import read_table, write_lines
from embspace.inside.expand import read_speaker_list
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main

L2_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="inside_gender", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["select", "eval"], help="choose the training subset, or train and evaluate")
    p.add_argument("--spk2gender", required=True, help="genders of the real training speakers")
    p.add_argument("--per-gender", type=int, default=3, help="select: real speakers per gender in the subset (default 3)")
    p.add_argument("--seed", type=int, default=0, help="select: seed of the choice")
    p.add_argument("--out", help="select: the speaker list to write")
    p.add_argument("--speakers", help="eval: the training subset (from select)")
    p.add_argument("--real-cuts", help="eval: real training cuts with features")
    p.add_argument("--synthetic-cuts", help="eval: synthetic cuts with features (identities of the subset)")
    p.add_argument("--synthetic-spk2gender", help="eval: genders of the synthetic identities")
    p.add_argument("--test-cuts", help="eval: real test cuts with features")
    p.add_argument("--test-spk2gender", help="eval: genders of the test speakers")
    p.add_argument("--out-dir", help="eval: where the metrics and predictions go")
    return p


def _labelled(cuts_path: str, genders: dict, keep: set[str] | None = None) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """(cut ids, statistics, gender labels, speakers) of the cuts whose speaker is in ``keep``."""
    from lhotse import CutSet

    cuts = [c for c in CutSet.from_file(cuts_path) if keep is None or c.supervisions[0].speaker in keep]
    if not cuts:
        raise DataError("no cuts of the requested speakers", cuts_path)
    speakers = [c.supervisions[0].speaker for c in cuts]
    for s in speakers:
        if s not in genders:
            raise DataError("speaker has no gender", cuts_path, key=s)
    ids, x = cut_stats(cuts)
    return ids, x, [genders[s] for s in speakers], speakers


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
    needed = ("speakers", "real_cuts", "synthetic_cuts", "synthetic_spk2gender", "test_cuts", "test_spk2gender", "out_dir")
    missing = [n for n in needed if not getattr(args, n)]
    if missing:
        parser.error("eval needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
    subset = set(read_speaker_list(args.speakers))
    _, x, y, _ = _labelled(args.real_cuts, genders, subset)
    dev_keep = {s for s in genders if s not in subset}
    _, dev_x, dev_y, _ = _labelled(args.real_cuts, genders, dev_keep)
    _, sx, sy, sspk = _labelled(args.synthetic_cuts, read_table(args.synthetic_spk2gender))
    test_ids, tx, ty, _ = _labelled(args.test_cuts, read_table(args.test_spk2gender))
    out = Path(args.out_dir)
    results = {}
    for name, (trx, try_) in {"real": (x, y), "inside": (np.concatenate([x, sx]), y + sy)}.items():
        clf, l2, dev_err = _fit_on_dev(trx, try_, dev_x, dev_y)
        pred = clf.predict(tx)
        err = error_rate(pred, ty)
        results[name] = {"accuracy": round(100.0 - err, 3), "error_rate": round(err, 3), "dev_error_rate": round(dev_err, 3),
                         "l2": l2, "train_utterances": len(try_), "test_utterances": len(ty),
                         "real_speakers": len(subset), "synthetic_identities": len(set(sspk)) if name == "inside" else 0}
        atomic_write_text(out / f"{name}.metrics.json", json.dumps(results[name], indent=1) + "\n")
        write_lines(out / f"{name}.predictions", [f"{u} {t} {p}" for u, t, p in zip(test_ids, ty, pred)])
    print("inside_gender: test error " + ", ".join(f"{k} {v['error_rate']:.2f}% (dev {v['dev_error_rate']:.2f}%)"
                                                   for k, v in results.items()) + f" -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
