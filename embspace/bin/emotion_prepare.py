"""Fine-tuning cuts, evaluation cuts and trial lists for emotion-invariant speaker verification.

    python -m embspace.bin.emotion_prepare --train-cuts data/fbank/mini_cuts_train.jsonl.gz \
        data/fbank/mini_emotion_cuts_train.jsonl.gz --test-cuts data/fbank/mini_cuts_test.jsonl.gz \
        data/fbank/mini_emotion_cuts_test.jsonl.gz --emotion-field style --dev-speakers 10 --out-dir data/emotion
Training speakers are split into fine-tuning speakers and ``--dev-speakers`` held-out ones (the dev
lists, for choosing hyper-parameters; never the test lists). Writes ``<out-dir>/finetune_cuts.jsonl.gz``,
``eval_cuts.jsonl.gz`` (every utterance of a trial list), ``trials/{dev,test}_{nn,<emotion>,merged}``
and ``summary.json``. Every utterance needs an emotion label in ``supervision.custom[<field>]``; a
label outside ``--emotions`` is an error naming the cut (or skipped and counted with
``--unknown-emotion skip``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from lhotse import CutSet

from embspace.cli.args import cli_parser
from embspace.data.tables import write_lines
from embspace.features.fbank import load_feature_cuts, write_feature_cuts
from embspace.emotion.pairs import emotion_of
from embspace.emotion.trials import build_trials, choose_dev_speakers
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError, cli_main


def read_labelled(paths: list[str], field: str, allowed: set[str] | None, unknown: str, skipped: Counter) -> list:
    """Cuts of several manifests with their emotion labels checked; duplicate ids are errors."""
    out, seen = [], {}
    for path in paths:
        if not Path(path).is_file():
            raise DataError("cut manifest not found", path)
        for cut in load_feature_cuts(path):
            if cut.id in seen:
                raise DataError(f"duplicate cut id (also in {seen[cut.id]})", path, key=cut.id)
            seen[cut.id] = path
            try:
                label = emotion_of(cut, field)
            except DataError as e:
                raise DataError(str(e).split(": ", 1)[-1], path, key=cut.id) from None
            if allowed is not None and label not in allowed:
                if unknown == "error":
                    raise DataError(f"unknown emotion label '{label}' (expected one of {', '.join(sorted(allowed))}; "
                                    "--unknown-emotion skip leaves such utterances out)", path, key=cut.id)
                skipped["utterances with an unknown emotion label"] += 1
                continue
            out.append((cut, label))
    return out


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("emotion_prepare", __doc__)
    p.add_argument("--train-cuts", nargs="+", required=True, help="cut manifests of the training speakers (with features)")
    p.add_argument("--test-cuts", nargs="+", required=True, help="cut manifests of the test speakers (with features)")
    p.add_argument("--out-dir", required=True, type=Path, help="where the cuts, trials and summary go")
    p.add_argument("--emotion-field", default="emotion", help="supervision.custom key of the emotion label")
    p.add_argument("--neutral-label", default="neutral", help="the label of neutral speech")
    p.add_argument("--emotions", default="", help="comma list of the non-neutral labels to use ('' = all found)")
    p.add_argument("--unknown-emotion", default="error", choices=["error", "skip"],
                   help="a label outside --emotions: stop with an error, or leave the utterance out (counted)")
    p.add_argument("--dev-speakers", type=float, default=10,
                   help="training speakers held out for the dev lists: a count, or a share when below 1 (at least 2)")
    p.add_argument("--enroll-per-spk", type=int, default=3, help="neutral enrollment utterances per speaker")
    p.add_argument("--neutral-test-per-spk", type=int, default=3, help="neutral test utterances per speaker")
    p.add_argument("--seed", type=int, default=1, help="seed of the dev choice and of the enrollment draw")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    allowed = None
    if args.emotions:
        allowed = {e for e in args.emotions.split(",") if e} | {args.neutral_label}
    skipped: Counter = Counter()
    train = read_labelled(args.train_cuts, args.emotion_field, allowed, args.unknown_emotion, skipped)
    test = read_labelled(args.test_cuts, args.emotion_field, allowed, args.unknown_emotion, skipped)
    train_spk = sorted({c.supervisions[0].speaker for c, _ in train})
    overlap = train_spk and sorted(set(train_spk) & {c.supervisions[0].speaker for c, _ in test})
    if overlap:
        raise DataError("speaker in both the training and the test cuts", args.test_cuts[0], key=overlap[0])
    if args.dev_speakers >= 1:
        n_dev = int(args.dev_speakers) if args.dev_speakers == int(args.dev_speakers) else -1
    else:
        n_dev = max(2, round(args.dev_speakers * len(train_spk)))
    if n_dev < 2 or n_dev > len(train_spk) - 2:
        raise DataError(f"--dev-speakers {args.dev_speakers}: need a whole number of at least 2 dev speakers that leaves "
                        f"2 or more of the {len(train_spk)} training speakers for fine-tuning", args.train_cuts[0])
    dev_spk = set(choose_dev_speakers(train_spk, n_dev, args.seed))
    finetune = [c for c, _ in train if c.supervisions[0].speaker not in dev_spk]
    summary: dict = {"finetune": {"utterances": len(finetune), "speakers": len(train_spk) - len(dev_spk),
                                  "emotions": dict(Counter(e for c, e in train
                                                           if c.supervisions[0].speaker not in dev_spk))},
                     "dev_speakers": sorted(dev_spk)}
    lists: dict[str, list] = {}
    eval_ids: set[str] = set()
    for name, items in (("dev", [(c, e) for c, e in train if c.supervisions[0].speaker in dev_spk]), ("test", test)):
        ts = build_trials({c.id: c.supervisions[0].speaker for c, _ in items}, {c.id: e for c, e in items},
                          args.neutral_label, args.enroll_per_spk, args.neutral_test_per_spk, args.seed)
        if not ts.emotional_test:
            raise DataError(f"no emotional utterance among the {name} speakers", args.test_cuts[0])
        skipped.update({f"{name}: {k}": v for k, v in ts.skipped.items()})
        eval_ids |= set(ts.utterances)
        for lst, trials in ts.lists.items():
            lists[f"{name}_{lst}"] = trials
        summary[name] = {"speakers": len({c.supervisions[0].speaker for c, _ in items}), "enroll": len(ts.enroll),
                         "neutral_test": len(ts.neutral_test), "emotional_test": len(ts.emotional_test),
                         "trials": {k: [len(v), sum(t for _, _, t in v)] for k, v in ts.lists.items()}}
    summary["skipped"] = dict(skipped)
    out = args.out_dir
    write_feature_cuts(CutSet.from_cuts(finetune), out / "finetune_cuts.jsonl.gz")
    write_feature_cuts(CutSet.from_cuts(sorted((c for c, _ in train + test if c.id in eval_ids), key=lambda c: c.id)),
                   out / "eval_cuts.jsonl.gz")
    with atomic_path(out / "trials") as tmp:  # the folder as a whole: no list of an earlier run survives
        tmp.mkdir()
        for name, trials in lists.items():
            write_lines(tmp / name, (f"{e} {t} {'target' if tgt else 'nontarget'}" for e, t, tgt in trials))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(f"emotion_prepare: fine-tuning {len(finetune)} utterances of {summary['finetune']['speakers']} speakers; "
          f"{len(lists)} trial lists ({', '.join(f'{k}: {len(v)}' for k, v in lists.items() if k.endswith(('_nn', '_merged')))})"
          + "".join(f"; skipped {v} {k}" for k, v in skipped.items()) + f" -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
