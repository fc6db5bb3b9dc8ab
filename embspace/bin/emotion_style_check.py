"""Check that emotional styles are real: (1) an emotion classifier trained on the training speakers
recognises the test speakers' styles well above chance; (2) a speaker encoder that never heard
emotional speech verifies worse when the test side is emotional.

    python -m embspace.bin.emotion_style_check --train-cuts data/emotion/finetune_cuts.jsonl.gz \
        --test-cuts data/emotion/eval_cuts.jsonl.gz --emotion-field style \
        --eer nn=exp/emotion/pretrained/scores/test_nn.metrics.json \
        --eer merged=exp/emotion/pretrained/scores/test_merged.metrics.json --out exp/emotion/style_check.json
Classes are balanced per speaker (at most as many neutral utterances as the speaker has of each
emotion). Writes the JSON and a Markdown rendering beside it (``.md``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from embspace.cli.args import cli_parser, name_values
from embspace.features.fbank import load_feature_cuts
from embspace.emotion.pairs import emotion_of
from embspace.emotion.stylecheck import speaker_normalise, train_and_test, utterance_descriptors
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def balanced_descriptors(path: str, field: str, neutral: str, exclude_speakers: set[str] = frozenset()
                         ) -> tuple[np.ndarray, list[str], list[str]]:
    """Descriptors, labels and speakers of a cut manifest, neutral utterances capped per speaker."""
    by_spk: dict[str, list] = {}
    for cut in load_feature_cuts(path):
        spk = cut.supervisions[0].speaker
        if spk not in exclude_speakers:
            by_spk.setdefault(spk, []).append((cut, emotion_of(cut, field)))
    rows, labels, speakers = [], [], []
    for spk, items in sorted(by_spk.items()):
        counts = Counter(e for _, e in items if e != neutral)
        cap = max(counts.values()) if counts else 0
        kept_neutral = 0
        for cut, emo in sorted(items, key=lambda ce: ce[0].id):
            if emo == neutral:
                if kept_neutral >= cap:
                    continue
                kept_neutral += 1
            rows.append(utterance_descriptors(cut.load_features()))
            labels.append(emo)
            speakers.append(spk)
    if not rows:
        raise DataError("no utterances", path)
    return np.stack(rows), labels, speakers


def _markdown(report: dict) -> str:
    lines = ["# Emotional styles: checks", ""]
    for name, res in report["classifier"].items():
        lines += [f"## Emotion classifier ({name}): train speakers -> test speakers", "",
                  f"accuracy **{100 * res['accuracy']:.1f}%** (chance {100 * res['chance']:.1f}%), "
                  f"{res['num_train']} training / {res['num_test']} test utterances", "",
                  "| true \\ predicted | " + " | ".join(res["classes"]) + " |",
                  "|---|" + "---:|" * len(res["classes"])]
        lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(res["classes"], res["confusion"])]
        lines.append("")
    if report.get("eer"):
        lines += ["## Speaker verification with the encoder trained on neutral speech only", "",
                  "| trials | EER (%) | minDCF 0.01 | EER / EER(nn) |", "|---|---:|---:|---:|"]
        base = report["eer"].get("nn", {}).get("eer")
        for name, m in report["eer"].items():
            ratio = f"{m['eer'] / base:.2f}" if base else ""
            lines.append(f"| {name} | {m['eer']:.2f} | {m['mindcf_0.01']:.4f} | {ratio} |")
        lines.append("")
    return "\n".join(lines)


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("emotion_style_check", __doc__)
    p.add_argument("--train-cuts", required=True, help="cuts of the classifier's training speakers")
    p.add_argument("--test-cuts", required=True, help="cuts of other speakers (its test)")
    p.add_argument("--exclude-test-speakers", default="",
                   help="a summary.json of emotion_prepare: its dev speakers are left out of the test cuts")
    p.add_argument("--emotion-field", default="emotion", help="supervision.custom key of the emotion label")
    p.add_argument("--neutral-label", default="neutral", help="the label of neutral speech")
    p.add_argument("--eer", action="append", default=[], metavar="NAME=METRICS_JSON",
                   help="EER of the neutral-only encoder on a list (nn first), repeatable")
    p.add_argument("--out", required=True, type=Path, help="JSON report (a .md goes beside it)")
    args = p.parse_args(argv)
    eer_files = name_values(args.eer, p, "--eer", "NAME=FILE", unique=False)
    exclude: set[str] = set()
    if args.exclude_test_speakers:
        exclude = set(json.loads(Path(args.exclude_test_speakers).read_text())["dev_speakers"])
    x_tr, y_tr, s_tr = balanced_descriptors(args.train_cuts, args.emotion_field, args.neutral_label)
    x_te, y_te, s_te = balanced_descriptors(args.test_cuts, args.emotion_field, args.neutral_label, exclude)
    if set(s_tr) & set(s_te):
        raise DataError("the classifier's training and test speakers overlap", args.test_cuts,
                        key=sorted(set(s_tr) & set(s_te))[0])
    report: dict = {"classifier": {
        "raw": train_and_test(x_tr, y_tr, x_te, y_te).to_json(),
        "speaker-normalised": train_and_test(speaker_normalise(x_tr, s_tr), y_tr,
                                             speaker_normalise(x_te, s_te), y_te).to_json()}, "eer": {}}
    for name, path in eer_files.items():
        if not Path(path).is_file():
            raise DataError("metrics file not found", path)
        report["eer"][name] = json.loads(Path(path).read_text())
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    atomic_write_text(args.out.with_suffix(".md"), _markdown(report))
    raw = report["classifier"]["raw"]
    print(f"emotion_style_check: accuracy {100 * raw['accuracy']:.1f}% (chance {100 * raw['chance']:.1f}%) on "
          f"{raw['num_test']} test utterances" + "".join(f"; {k} EER {v['eer']:.2f}%" for k, v in report["eer"].items())
          + f" -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
