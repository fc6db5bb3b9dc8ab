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
from embspace.data.kaldi_dir import fill_data_dir, kaldi_tables
from embspace.data.tables import iter_jsonl
from embspace.utils.atomic import OutputSet, atomic_path, pending_commit
from embspace.utils.errors import DataError

#: metadata fields that map onto SupervisionSegment attributes; everything else goes to ``custom``.
CORE_FIELDS = ("utt", "speaker", "gender", "language", "text", "path", "split", "duration")


def read_metadata(path: str | os.PathLike) -> list[dict]:
    """Read ``metadata.jsonl`` (one JSON object per utterance); names the line of a bad record."""
    entries, seen = [], {}
    path = Path(path)
    if not path.is_file():
        raise DataError("metadata file not found", path)
    for n, entry in iter_jsonl(path):
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
    with atomic_path(path) as tmp:
        _write_jsonl(manifest, tmp, gz=path.suffix == ".gz")


def _write_jsonl(manifest: Any, path: Path, gz: bool) -> None:
    """The bytes of :func:`write_manifest`, written straight to ``path``."""
    with open(path, "wb") as raw:
        stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if gz else raw
        with io.TextIOWrapper(stream, encoding="utf-8", newline="\n") as f:
            for item in manifest.to_dicts():
                f.write(json.dumps(item, ensure_ascii=False) + "\n")


def save_manifests(recs: RecordingSet, sups: SupervisionSet, out_dir: str | os.PathLike, corpus: str, split: str) -> tuple[Path, Path]:
    """Write both manifests atomically and deterministically (supervisions last)."""
    rec_path, sup_path = manifest_paths(out_dir, corpus, split)
    for manifest, path in ((recs, rec_path), (sups, sup_path)):
        write_manifest(manifest, path)
    return rec_path, sup_path


def cuts_of(recs: RecordingSet, sups: SupervisionSet) -> CutSet:
    """One cut per supervision (the cuts and ids of the feature stage)."""
    return CutSet.from_manifests(recordings=recs, supervisions=sups).trim_to_supervisions(keep_overlapping=False).to_eager()


def commit_journal(out_dir: str | os.PathLike, corpus: str) -> Path:
    """The journal of an interrupted :func:`save_split_set` of ``corpus`` (see :class:`embspace.utils.atomic.OutputSet`)."""
    return Path(out_dir) / f".{corpus}.commit.json"


def save_split_set(splits: dict[str, tuple[RecordingSet, SupervisionSet]], out_dir: str | os.PathLike, corpus: str,
                   kaldi_dirs: dict[str, str | os.PathLike] | None = None, cuts: Iterable[str] = (),
                   remove: Iterable[str] = (), kaldi_pipes: bool = False) -> None:
    """Write the manifests of every split, with its Kaldi dir (``kaldi_dirs[split]``) and its audio cuts
    (``<corpus>_cuts_<split>.jsonl.gz`` for the splits in ``cuts``), as one set.

    Every table is built first (a bad one writes nothing), every file and folder is written under a
    temporary name, and only then are all renamed into place (:class:`OutputSet`): a run stopped
    at any point leaves the previous set or this one, never train of one run beside test of another.
    The splits in ``remove`` (stale ones of an earlier run) lose their manifests and Kaldi dir at the
    same time. Leftovers of a killed run are cleaned, an interrupted commit finished, on the next run.
    ``kaldi_pipes``: see :func:`embspace.data.kaldi_dir.wav_scp_entry`.
    """
    kaldi_dirs = kaldi_dirs or {}
    cuts = set(cuts)
    tables = {split: kaldi_tables(*splits[split], kaldi_pipes) for split in splits if split in kaldi_dirs}
    out_dir = Path(out_dir)
    with OutputSet(commit_journal(out_dir, corpus)) as out:
        for split, (recs, sups) in splits.items():
            rec_path, sup_path = manifest_paths(out_dir, corpus, split)
            _write_jsonl(recs, out.file(rec_path), gz=True)
            _write_jsonl(sups, out.file(sup_path), gz=True)
            if split in cuts:
                _write_jsonl(cuts_of(recs, sups), out.file(out_dir / f"{corpus}_cuts_{split}.jsonl.gz"), gz=True)
            if split in tables:
                fill_data_dir(tables[split], out.folder(kaldi_dirs[split]))
        for split in remove:
            for path in manifest_paths(out_dir, corpus, split):
                out.remove(path)
            if split in kaldi_dirs:
                out.remove(kaldi_dirs[split])
        out.commit()


def supervision_speakers(manifest: str | os.PathLike) -> dict[str, str]:
    """``{supervision id: speaker}`` of a supervisions manifest (``.jsonl.gz``), read directly (fast)."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataError("supervisions manifest not found (run the manifest stage first)", manifest)
    out: dict[str, str] = {}
    opener = gzip.open if manifest.suffix == ".gz" else open
    with opener(manifest, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out[d["id"]] = d.get("speaker")
    return out


def check_split_set(out_dir: str | os.PathLike, corpus: str, splits: tuple[str, str] = ("train", "test")) -> None:
    """The manifests of ``corpus`` are one whole set: no replacement is pending and no speaker is in
    both ``splits`` (when both exist). A DataError names the journal or the shared speakers."""
    journal = commit_journal(out_dir, corpus)
    if pending_commit(journal):
        raise DataError("the manifests are being replaced, or a run replacing them was stopped: "
                        "rerun the manifest stage to finish it", journal)
    paths = [manifest_paths(out_dir, corpus, split)[1] for split in splits]
    if not all(p.is_file() for p in paths):
        return
    a, b = (set(supervision_speakers(p).values()) for p in paths)
    shared = sorted(a & b)
    if shared:
        raise DataError(f"{len(shared)} speaker(s) in both '{splits[0]}' and '{splits[1]}' "
                        f"({' '.join(shared[:10])}{' ...' if len(shared) > 10 else ''}): the manifests mix two runs "
                        "or two corpora; rerun the manifest stage", paths[1])


def load_cuts(out_dir: str | os.PathLike, corpus: str, split: str) -> CutSet:
    """Cuts (one per utterance) from the saved manifests, after :func:`check_split_set`."""
    rec_path, sup_path = manifest_paths(out_dir, corpus, split)
    for p in (rec_path, sup_path):
        if not p.is_file():
            raise DataError("manifest not found (run the manifest stage first)", p)
    check_split_set(out_dir, corpus)
    recs = RecordingSet.from_file(rec_path)
    sups = SupervisionSet.from_file(sup_path)
    return cuts_of(recs, sups)
