"""The emotional-style check of ``embspace.bin.emotion_style_check``: balanced descriptors of cut
manifests, the emotion classifier across speakers, and the report (JSON and Markdown)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from embspace.emotion.pairs import emotion_of
from embspace.emotion.stylecheck import speaker_normalise, train_and_test, utterance_descriptors
from embspace.features.fbank import load_feature_cuts
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


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


def style_markdown(report: dict) -> str:
    """The Markdown rendering of a style-check report."""
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


def style_check(train_cuts: str, test_cuts: str, field: str, neutral: str, eer_files: dict[str, str],
                out: Path, exclude_test_speakers: str = "") -> dict:
    """Train the emotion classifier on ``train_cuts``' speakers, test on ``test_cuts``' (less the dev
    speakers of an emotion_prepare summary), add the EERs, write ``out`` and ``out``.md; returns the report."""
    exclude: set[str] = set()
    if exclude_test_speakers:
        exclude = set(json.loads(Path(exclude_test_speakers).read_text())["dev_speakers"])
    x_tr, y_tr, s_tr = balanced_descriptors(train_cuts, field, neutral)
    x_te, y_te, s_te = balanced_descriptors(test_cuts, field, neutral, exclude)
    if set(s_tr) & set(s_te):
        raise DataError("the classifier's training and test speakers overlap", test_cuts,
                        key=sorted(set(s_tr) & set(s_te))[0])
    report: dict = {"classifier": {
        "raw": train_and_test(x_tr, y_tr, x_te, y_te).to_json(),
        "speaker-normalised": train_and_test(speaker_normalise(x_tr, s_tr), y_tr,
                                             speaker_normalise(x_te, s_te), y_te).to_json()}, "eer": {}}
    for name, path in eer_files.items():
        if not Path(path).is_file():
            raise DataError("metrics file not found", path)
        report["eer"][name] = json.loads(Path(path).read_text())
    atomic_write_text(out, json.dumps(report, indent=1) + "\n")
    atomic_write_text(out.with_suffix(".md"), style_markdown(report))
    return report
