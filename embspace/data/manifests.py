"""lhotse manifests from an utterance metadata list, and their storage on disk."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from lhotse import CutSet, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.qa import validate_recordings_and_supervisions

from embspace.data.audio_check import AudioItem, AudioPolicy, make_recording, scan_audio
from embspace.data.tables import iter_raw_lines
from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError

#: metadata fields that map onto SupervisionSegment attributes; everything else goes to ``custom``.
CORE_FIELDS = ("utt", "speaker", "gender", "language", "text", "path", "split", "duration")


def read_metadata(path: str | os.PathLike) -> list[dict]:
    """Read ``metadata.jsonl`` (one JSON object per utterance); names the line of a bad record."""
    entries, seen = [], {}
    path = Path(path)
    if not path.is_file():
        raise DataError("metadata file not found", path)
    for n, line in iter_raw_lines(path):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON ({e.msg})", path, n) from None
        if not isinstance(entry, dict):
            raise DataError("expected a JSON object", path, n)
        for field in ("utt", "speaker", "path"):
            if field not in entry:
                raise DataError(f"missing field '{field}'", path, n)
        if entry["utt"] in seen:
            raise DataError(f"duplicate utterance id (first on line {seen[entry['utt']]})", path, n, entry["utt"])
        seen[entry["utt"]] = n
        entries.append(entry)
    return entries


def draw_speaker_split(speakers: Iterable[str], test_fraction: float, seed: int) -> list[str]:
    """The test speakers of a speaker-disjoint split: ``round(test_fraction * N)`` of them (at least one,
    at most N - 1), drawn with ``seed`` from the sorted speaker list; sorted."""
    speakers = sorted(set(speakers))
    if len(speakers) < 2:
        raise DataError(f"cannot split {len(speakers)} speaker(s) into train and test")
    n_test = min(len(speakers) - 1, max(1, round(test_fraction * len(speakers))))
    rng = np.random.default_rng(seed)
    return sorted(speakers[i] for i in rng.permutation(len(speakers))[:n_test])


def split_entries(entries: list[dict], test_fraction: float = 0.25, seed: int = 0,
                  source: object = None) -> tuple[dict[str, list[dict]], str | None]:
    """``({split: entries}, note)``. Entries carry a ``split`` each (then no speaker may be in two),
    or none does: ``test_fraction`` of the speakers are then drawn for ``test`` (``0``: all ``train``),
    and ``note`` says so."""
    with_split = [e for e in entries if e.get("split") not in (None, "")]
    note = None
    if with_split and len(with_split) < len(entries):
        first = next(e for e in entries if e.get("split") in (None, ""))
        raise DataError(f"{len(entries) - len(with_split)} entries have no 'split' while others have one "
                        "(give every entry a split, or none)", source, key=first["utt"])
    if not with_split:
        speakers = {e["speaker"] for e in entries}
        test = set(draw_speaker_split(speakers, test_fraction, seed)) if test_fraction > 0 else set()
        for e in entries:
            e["split"] = "test" if e["speaker"] in test else "train"
        note = (f"metadata has no 'split': drew {len(test)} of {len(speakers)} speakers for test "
                f"(--test-fraction {test_fraction:g}, --split-seed {seed})")
    splits: dict[str, list[dict]] = {}
    spk_split: dict[str, str] = {}
    for e in entries:
        split = str(e["split"])
        if spk_split.setdefault(e["speaker"], split) != split:
            raise DataError(f"speaker appears in splits '{spk_split[e['speaker']]}' and '{split}'", source, key=e["speaker"])
        splits.setdefault(split, []).append(e)
    return splits, note


def build_manifests(entries: Iterable[dict], root: str | os.PathLike, policy: AudioPolicy = AudioPolicy(),
                    num_jobs: int | None = None, source: object = None) -> tuple[RecordingSet, SupervisionSet]:
    """One Recording and one whole-recording SupervisionSegment per metadata entry.

    Every audio file is checked first (:func:`embspace.data.audio_check.scan_audio`, in parallel):
    one DataError lists all bad files. ``policy`` sets the expected rate (or resampling) and channel.
    """
    entries = list(entries)
    root = Path(root)
    items = [AudioItem(e["utt"], str((root / e["path"]).resolve())) for e in entries]
    infos = scan_audio(items, policy, num_jobs, listing=source)
    recordings, supervisions = [], []
    for e, item in zip(entries, items):
        info = infos[item.key]
        rec = make_recording(item, info, policy)
        recordings.append(rec)
        custom = {k: v for k, v in e.items() if k not in CORE_FIELDS}
        supervisions.append(SupervisionSegment(
            id=e["utt"], recording_id=e["utt"], start=0.0, duration=rec.duration, channel=policy.channel_of(info),
            text=e.get("text"), speaker=e["speaker"], gender=e.get("gender"), language=e.get("language"),
            custom=custom or None,
        ))
    recs = RecordingSet.from_recordings(recordings)
    sups = SupervisionSet.from_segments(supervisions)
    validate_recordings_and_supervisions(recs, sups)
    return recs, sups


def manifest_paths(out_dir: str | os.PathLike, corpus: str, split: str) -> tuple[Path, Path]:
    """Paths of the lhotse recordings and supervisions manifests, icefall-style names."""
    out_dir = Path(out_dir)
    return (out_dir / f"{corpus}_recordings_{split}.jsonl.gz", out_dir / f"{corpus}_supervisions_{split}.jsonl.gz")


def write_manifest(manifest: Any, path: str | os.PathLike) -> None:
    """Save a lhotse manifest as JSONL (gzipped for ``.gz``), atomically and deterministically.

    lhotse's own ``to_file`` puts the time and the (temporary) file name into the gzip header, so
    the same manifest written twice differs in bytes and every stage reading it would rerun; here
    the header has no name and mtime 0: same content, same bytes.
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if path.suffix == ".gz" else raw
        with io.TextIOWrapper(stream, encoding="utf-8", newline="\n") as f:
            for item in manifest.to_dicts():
                f.write(json.dumps(item, ensure_ascii=False) + "\n")


def save_manifests(recs: RecordingSet, sups: SupervisionSet, out_dir: str | os.PathLike, corpus: str, split: str) -> tuple[Path, Path]:
    """Write both manifests atomically and deterministically (supervisions last)."""
    rec_path, sup_path = manifest_paths(out_dir, corpus, split)
    for manifest, path in ((recs, rec_path), (sups, sup_path)):
        write_manifest(manifest, path)
    return rec_path, sup_path


def load_cuts(out_dir: str | os.PathLike, corpus: str, split: str) -> CutSet:
    """Cuts (one per utterance) from the saved manifests."""
    rec_path, sup_path = manifest_paths(out_dir, corpus, split)
    for p in (rec_path, sup_path):
        if not p.is_file():
            raise DataError("manifest not found (run the manifest stage first)", p)
    recs = RecordingSet.from_file(rec_path)
    sups = SupervisionSet.from_file(sup_path)
    return CutSet.from_manifests(recordings=recs, supervisions=sups).trim_to_supervisions(keep_overlapping=False).to_eager()
