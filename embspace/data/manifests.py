"""lhotse manifests from an utterance metadata list, and their storage on disk."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable

from lhotse import AudioSource, CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.qa import validate_recordings_and_supervisions

from embspace.data.audio_check import check_audio
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
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"not valid JSON ({e.msg})", path, n) from None
            for field in ("utt", "speaker", "path"):
                if field not in entry:
                    raise DataError(f"missing field '{field}'", path, n)
            if entry["utt"] in seen:
                raise DataError(f"duplicate utterance id (first on line {seen[entry['utt']]})", path, n, entry["utt"])
            seen[entry["utt"]] = n
            entries.append(entry)
    return entries


def build_manifests(entries: Iterable[dict], root: str | os.PathLike, sampling_rate: int = 16000) -> tuple[RecordingSet, SupervisionSet]:
    """One Recording and one whole-recording SupervisionSegment per metadata entry.

    Every audio file is checked (exists, readable, non-empty, right sampling rate) first.
    """
    root = Path(root)
    recordings, supervisions = [], []
    for e in entries:
        audio = (root / e["path"]).resolve()
        duration = check_audio(audio, sampling_rate, key=e["utt"])
        num_samples = round(duration * sampling_rate)
        recordings.append(Recording(
            id=e["utt"], sources=[AudioSource(type="file", channels=[0], source=str(audio))],
            sampling_rate=sampling_rate, num_samples=num_samples, duration=duration,
        ))
        custom = {k: v for k, v in e.items() if k not in CORE_FIELDS}
        supervisions.append(SupervisionSegment(
            id=e["utt"], recording_id=e["utt"], start=0.0, duration=duration, channel=0,
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
