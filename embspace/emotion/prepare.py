"""Fine-tuning cuts, evaluation cuts and trial lists for emotion-invariant speaker verification
(``embspace.bin.emotion_prepare``): labels checked, dev speakers held out, lists built and written."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from lhotse import CutSet

from embspace.data.tables import write_lines
from embspace.emotion.pairs import emotion_of
from embspace.emotion.trials import build_trials, choose_dev_speakers
from embspace.features.fbank import load_feature_cuts, write_feature_cuts
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError


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


def dev_count(dev_speakers: float, num_train: int, source: str) -> int:
    """Dev speakers asked for by ``--dev-speakers`` (a count, or a share below 1); at least 2, leaving 2."""
    if dev_speakers >= 1:
        n_dev = int(dev_speakers) if dev_speakers == int(dev_speakers) else -1
    else:
        n_dev = max(2, round(dev_speakers * num_train))
    if n_dev < 2 or n_dev > num_train - 2:
        raise DataError(f"--dev-speakers {dev_speakers}: need a whole number of at least 2 dev speakers that leaves "
                        f"2 or more of the {num_train} training speakers for fine-tuning", source)
    return n_dev


def write_outputs(out: Path, finetune: list, eval_cuts: list, lists: dict[str, list], summary: dict) -> None:
    """finetune_cuts, eval_cuts, the trials folder (swapped in whole) and summary.json."""
    write_feature_cuts(CutSet.from_cuts(finetune), out / "finetune_cuts.jsonl.gz")
    write_feature_cuts(CutSet.from_cuts(sorted(eval_cuts, key=lambda c: c.id)), out / "eval_cuts.jsonl.gz")
    with atomic_path(out / "trials") as tmp:  # the folder as a whole: no list of an earlier run survives
        tmp.mkdir()
        for name, trials in lists.items():
            write_lines(tmp / name, (f"{e} {t} {'target' if tgt else 'nontarget'}" for e, t, tgt in trials))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")


def prepare(args: argparse.Namespace) -> dict:
    """Everything the options of ``emotion_prepare`` ask for; returns the summary."""
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
    n_dev = dev_count(args.dev_speakers, len(train_spk), args.train_cuts[0])
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
    write_outputs(out, finetune, [c for c, _ in train + test if c.id in eval_ids], lists, summary)
    print(f"emotion_prepare: fine-tuning {len(finetune)} utterances of {summary['finetune']['speakers']} speakers; "
          f"{len(lists)} trial lists ({', '.join(f'{k}: {len(v)}' for k, v in lists.items() if k.endswith(('_nn', '_merged')))})"
          + "".join(f"; skipped {v} {k}" for k, v in skipped.items()) + f" -> {out}", file=sys.stderr)
    return summary
