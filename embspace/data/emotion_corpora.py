"""Emotional speech corpora as utterance metadata (speaker and emotion labels), offline.

Each reader scans a corpus tree as it ships and returns metadata entries (``utt``, ``speaker``,
absolute ``path``, ``emotion`` in a common vocabulary, ``gender``, ``language``, ``text`` and
corpus-specific fields) plus a count of what it left out; :func:`embspace.data.manifests.build_manifests`
turns them into lhotse manifests (``emotion`` lands in ``supervision.custom``).

* **ESD** (Zhou et al. 2021): ``<root>/<spk>/<Emotion>/<spk>_<nnnnnn>.wav`` (also with
  ``train/``, ``evaluation/``, ``test/`` below each emotion folder, as some copies have it) and
  ``<root>/<spk>/<spk>.txt`` (``<utt>\\t<text>\\t<emotion>``). Speakers 0001-0010 Mandarin,
  0011-0020 English; genders from the corpus README. Emotions: Neutral, Angry, Happy, Sad, Surprise.
* **CREMA-D** (Cao et al. 2014): ``<root>/AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav`` and
  ``<root>/VideoDemographics.csv`` (``ActorID,Age,Sex,Race,Ethnicity``). Emotions ANG, DIS, FEA,
  HAP, NEU, SAD; levels LO, MD, HI, XX (unspecified).
* **Dusha** crowd subset (Kondratenko et al. 2022): ``<root>/crowd_train/raw_crowd_train.tsv`` (or
  ``.jsonl``) with ``wavs/<hash>.wav``, the same for ``crowd_test``; one row per (file, annotator):
  ``hash_id, audio_path, duration, annotator_emo, golden_emo, annotator_id, speaker_text,
  speaker_emo, source_id``. The speaker is ``source_id``; the emotion ``speaker_emo`` (what the
  speaker was asked to act) or the majority of ``annotator_emo`` (``label=majority``; ties and
  ``other`` are left out, counted). The podcast subset ships no audio and is not read.

Bad trees raise :class:`DataError` naming the file and key: a missing metadata file, an unknown
emotion label (or, with ``unknown="skip"``, a counted skip), a malformed line.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np

from embspace.utils.errors import DataError

ESD_EMOTIONS = {"Neutral": "neutral", "Angry": "angry", "Happy": "happy", "Sad": "sad", "Surprise": "surprised"}
ESD_GENDER = {**{s: "f" for s in ("0001", "0002", "0003", "0007", "0009", "0015", "0016", "0017", "0018", "0019")},
              **{s: "m" for s in ("0004", "0005", "0006", "0008", "0010", "0011", "0012", "0013", "0014", "0020")}}
CREMA_EMOTIONS = {"NEU": "neutral", "ANG": "angry", "HAP": "happy", "SAD": "sad", "FEA": "fearful", "DIS": "disgusted"}
CREMA_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
DUSHA_EMOTIONS = {"neutral": "neutral", "angry": "angry", "sad": "sad", "positive": "positive"}
DUSHA_EXCLUDED = {"other"}  # a Dusha label, not an emotion category: left out (counted)

_ESD_SPK = re.compile(r"^\d{4}$")
_CREMA_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


class Scan:
    """Entries of a scanned corpus and the counts of what was left out."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.skipped: Counter = Counter()  # left out
        self.notes: Counter = Counter()  # kept, but worth a line in the log

    def skip(self, why: str) -> None:
        self.skipped[why] += 1

    def summary(self) -> str:
        spk = {e["speaker"] for e in self.entries}
        emo = Counter(e["emotion"] for e in self.entries)
        text = f"{len(self.entries)} utterances, {len(spk)} speakers, emotions " + ", ".join(f"{k}: {v}" for k, v in sorted(emo.items()))
        text += "".join(f"; skipped {n} {why}" for why, n in sorted(self.skipped.items()))
        return text + "".join(f"; {n} {what}" for what, n in sorted(self.notes.items()))


def _label(raw: str, table: dict[str, str], unknown: str, scan: Scan, path: os.PathLike | str, key: str,
           line: int | None = None) -> str | None:
    """Map a corpus label; unknown labels are errors or counted skips."""
    if raw in table:
        return table[raw]
    if unknown == "skip":
        scan.skip("utterances with an unknown emotion label")
        return None
    raise DataError(f"unknown emotion label '{raw}' (expected one of {', '.join(sorted(table))}; "
                    "unknown='skip' leaves such utterances out)", path, line, key)


def _read_text(path: Path) -> str:
    """A metadata text file in UTF-8 (with or without BOM), UTF-16, or GB18030 (Mandarin ESD copies)."""
    data = path.read_bytes()
    for enc in ("utf-8-sig", "utf-16", "gb18030"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\t" in text or not text.strip():
            return text
    raise DataError("cannot decode (UTF-8, UTF-16 or GB18030 expected)", path)


def scan_esd(root: str | os.PathLike, unknown: str = "error") -> Scan:
    """Entries of an ESD tree (see the module docstring)."""
    root = Path(root)
    speakers = sorted(p for p in root.iterdir() if p.is_dir() and _ESD_SPK.match(p.name)) if root.is_dir() else []
    if not speakers:
        raise DataError("no speaker folders (NNNN/) found: not an ESD tree", root)
    scan = Scan()
    for spk_dir in speakers:
        spk = spk_dir.name
        txt = spk_dir / f"{spk}.txt"
        if not txt.is_file():
            raise DataError("speaker metadata file missing (ESD ships <spk>/<spk>.txt)", txt, key=spk)
        texts = {}
        for n, line in enumerate(_read_text(txt).splitlines(), 1):
            if not line.strip():
                continue
            fields = line.rstrip("\r").split("\t")
            if len(fields) < 2:
                raise DataError("expected '<utt>\\t<text>\\t<emotion>'", txt, n)
            texts[fields[0].strip()] = fields[1].strip()
        for emo_dir in sorted(p for p in spk_dir.iterdir() if p.is_dir()):
            emotion = _label(emo_dir.name, ESD_EMOTIONS, unknown, scan, emo_dir, spk)
            if emotion is None:
                continue
            for wav in sorted(emo_dir.rglob("*.wav")):
                utt = wav.stem
                if not utt.startswith(spk + "_"):
                    raise DataError(f"file name does not start with the speaker id '{spk}_'", wav, key=utt)
                part = wav.parent.name if wav.parent != emo_dir else ""
                if utt not in texts:
                    scan.notes["utterances without a line in their speaker's .txt (kept, no text)"] += 1
                scan.entries.append({"utt": utt, "speaker": spk, "path": str(wav.resolve()), "emotion": emotion,
                                     "gender": ESD_GENDER.get(spk), "language": "zh" if spk <= "0010" else "en",
                                     "text": texts.get(utt, ""), **({"esd_part": part} if part else {})})
    return scan


def scan_crema_d(root: str | os.PathLike, unknown: str = "error") -> Scan:
    """Entries of a CREMA-D tree (see the module docstring)."""
    root = Path(root)
    demo_path, audio = root / "VideoDemographics.csv", root / "AudioWAV"
    if not audio.is_dir():
        raise DataError("AudioWAV/ not found: not a CREMA-D tree", audio)
    if not demo_path.is_file():
        raise DataError("actor metadata missing (CREMA-D ships VideoDemographics.csv)", demo_path)
    demo = {}
    with open(demo_path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        need = {"ActorID", "Sex"}
        if not need <= set(reader.fieldnames or []):
            raise DataError(f"expected the columns ActorID,Age,Sex,Race,Ethnicity, got {reader.fieldnames}", demo_path, 1)
        for n, row in enumerate(reader, 2):
            demo[row["ActorID"].strip()] = {"gender": {"male": "m", "female": "f"}.get(row["Sex"].strip().lower()),
                                            "age": row.get("Age", "").strip()}
    scan = Scan()
    for wav in sorted(audio.glob("*.wav")):
        m = _CREMA_NAME.match(wav.stem)
        if not m:
            raise DataError("expected <actor>_<sentence>_<emotion>_<level>.wav", wav, key=wav.stem)
        actor, sentence, emo, level = m.groups()
        if actor not in demo:
            raise DataError("actor missing from VideoDemographics.csv", demo_path, key=actor)
        emotion = _label(emo, CREMA_EMOTIONS, unknown, scan, wav, wav.stem)
        if emotion is None:
            continue
        if level not in CREMA_LEVELS:
            raise DataError(f"unknown intensity level '{level}' (LO, MD, HI, XX)", wav, key=wav.stem)
        scan.entries.append({"utt": wav.stem, "speaker": actor, "path": str(wav.resolve()), "emotion": emotion,
                             "gender": demo[actor]["gender"], "language": "en", "text": sentence,
                             "intensity": CREMA_LEVELS[level], "age": demo[actor]["age"]})
    if not scan.entries:
        raise DataError("no usable .wav files", audio)
    return scan


def _dusha_rows(split_dir: Path) -> Iterable[tuple[int, dict, Path]]:
    """``(line, row, file)`` of ``raw_<split>.tsv`` (preferred) or ``raw_<split>.jsonl``."""
    tsv, jsonl = split_dir / f"raw_{split_dir.name}.tsv", split_dir / f"raw_{split_dir.name}.jsonl"
    if tsv.is_file():
        with open(tsv, encoding="utf-8", newline="") as f:
            header = f.readline().rstrip("\r\n").split("\t")
            for col in ("hash_id", "audio_path", "source_id", "speaker_emo", "annotator_emo"):
                if col not in header:
                    raise DataError(f"column '{col}' missing from the header", tsv, 1)
            for n, line in enumerate(f, 2):
                if not line.strip():
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != len(header):
                    raise DataError(f"expected {len(header)} tab-separated fields, got {len(fields)}", tsv, n)
                yield n, dict(zip(header, fields)), tsv
    elif jsonl.is_file():
        with open(jsonl, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield n, json.loads(line), jsonl
                    except json.JSONDecodeError as e:
                        raise DataError(f"not valid JSON ({e.msg})", jsonl, n) from None
    else:
        raise DataError(f"markup file missing (Dusha ships {tsv.name} or {jsonl.name})", tsv)


def scan_dusha(root: str | os.PathLike, label: str = "speaker_emo", unknown: str = "error",
               parts: tuple[str, ...] = ("crowd_train", "crowd_test")) -> Scan:
    """Entries of the Dusha crowd subset (see the module docstring); ``label``: speaker_emo | majority."""
    if label not in ("speaker_emo", "majority"):
        raise ValueError(f"label must be speaker_emo or majority, got '{label}'")
    root = Path(root)
    scan = Scan()
    found = [root / p for p in parts if (root / p).is_dir()]
    if not found:
        raise DataError(f"none of {', '.join(parts)} found: not a Dusha crowd tree", root)
    for split_dir in found:
        files: dict[str, dict] = {}
        for n, row, src in _dusha_rows(split_dir):
            h = str(row.get("hash_id") or "").strip()
            if not h:
                raise DataError("empty hash_id", src, n)
            item = files.setdefault(h, {"row": row, "line": n, "src": src, "votes": Counter()})
            if str(row.get("annotator_emo") or "").strip():
                item["votes"][str(row["annotator_emo"]).strip()] += 1
        for h, item in sorted(files.items()):
            row, n, src = item["row"], item["line"], item["src"]
            spk = str(row.get("source_id") or "").strip()
            if not spk or spk.lower() == "nan":
                scan.skip("utterances without a speaker (source_id)")
                continue
            if label == "speaker_emo":
                raw = str(row.get("speaker_emo") or "").strip()
            else:
                top = item["votes"].most_common(2)
                raw = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else ""
            if not raw or raw.lower() == "nan":
                scan.skip(f"utterances without a {'speaker_emo' if label == 'speaker_emo' else 'majority'} label")
                continue
            if raw in DUSHA_EXCLUDED:
                scan.skip(f"utterances labelled '{raw}'")
                continue
            emotion = _label(raw, DUSHA_EMOTIONS, unknown, scan, src, h, n)
            if emotion is None:
                continue
            wav = split_dir / str(row.get("audio_path") or "")
            if not wav.is_file():
                wav = split_dir / "wavs" / f"{h}.wav"
            scan.entries.append({"utt": f"{spk}-{h}", "speaker": spk, "path": str(wav.resolve()), "emotion": emotion,
                                 "language": "ru", "text": str(row.get("speaker_text") or ""),
                                 "dusha_part": split_dir.name, "hash_id": h})
    return scan


SCANNERS = {"esd": scan_esd, "crema_d": scan_crema_d, "dusha": scan_dusha}


def split_speakers(entries: list[dict], test_fraction: float = 0.1, test_speakers: Iterable[str] = (),
                   seed: int = 1) -> dict[str, str]:
    """``speaker -> train|test``: the given ``test_speakers``, else a seeded ``test_fraction`` of them
    (at least 2 test and 2 training speakers)."""
    speakers = sorted({e["speaker"] for e in entries})
    test = set(test_speakers)
    unknown = sorted(test - set(speakers))
    if unknown:
        raise DataError("test speaker not in the corpus", key=unknown[0])
    if not test:
        n = min(len(speakers) - 2, max(2, int(round(test_fraction * len(speakers)))))
        if n < 2:
            raise DataError(f"{len(speakers)} speakers: too few for a speaker-disjoint train/test split")
        test = set(np.random.default_rng(seed).permutation(speakers)[:n].tolist())
    return {s: "test" if s in test else "train" for s in speakers}
