"""VoxCeleb1/2 lhotse manifests and trial lists, offline.

lhotse's ``prepare_voxceleb`` downloads the Vox1-O trial list whenever a VoxCeleb1 root is given
(``resumable_download`` always contacts the server), so it cannot run offline. Here the same
manifests are built with lhotse's ids and fields (as ``lhotse.recipes.voxceleb._process_file`` does:
recording id ``<spk>-<youtube id>-<utt>``, speaker, gender, custom speaker_name / nationality /
split), every file checked by the shared audio scanner, and split as lhotse does (Kaldi style: VoxCeleb1 dev + all of VoxCeleb2 -> ``train``,
VoxCeleb1 test -> ``test``), optionally with the VoxCeleb1 dev part moved to ``test`` so that the
Vox1-E / Vox1-H lists can be scored. Trials come from the user's copies of the official lists
(``veri_test2.txt``, ``list_test_all2.txt``, ``list_test_hard2.txt``).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

from lhotse import CutSet, MonoCut, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.qa import fix_manifests, validate_recordings_and_supervisions
from lhotse.recipes.voxceleb import SpeakerMetadata

from embspace.data.audio_check import AudioItem, AudioPolicy, make_recording, scan_audio
from embspace.data.tables import check_unique_pair, iter_lines, iter_raw_lines
from embspace.utils.errors import DataError

SAMPLING_RATE = 16000
#: official trial list file name -> trials name used in the recipe
TRIAL_LISTS = {"veri_test2.txt": "vox1_O", "list_test_all2.txt": "vox1_E", "list_test_hard2.txt": "vox1_H"}
_SPK_RE = re.compile(r"^id\d+$")


def read_vox1_meta(path: str | os.PathLike) -> dict[str, SpeakerMetadata]:
    """``vox1_meta.csv``: a header, then ``id<TAB>name<TAB>gender<TAB>nationality<TAB>dev|test``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("VoxCeleb1 speaker list not found (it ships with the corpus; needed for the dev/test split)", path)
    meta: dict[str, SpeakerMetadata] = {}
    first: dict[str, int] = {}
    for n, line in iter_raw_lines(path):
        if n == 1 or not line.strip():
            continue
        fields = [x.strip() for x in line.split("\t")]
        if len(fields) != 5 or fields[4] not in ("dev", "test"):
            raise DataError("expected 5 tab-separated fields 'id name gender nationality dev|test'", path, n)
        spk, name, gender, nationality, split = fields
        if first.setdefault(spk, n) != n:
            raise DataError(f"duplicate speaker (first on line {first[spk]})", path, n, spk)
        meta[spk] = SpeakerMetadata(id=spk, name=name, gender=gender, nationality=nationality, split=split)
    return meta


def read_vox2_meta(path: str | os.PathLike) -> dict[str, SpeakerMetadata]:
    """``vox2_meta.csv``: a header, then ``id ,vggface2 id ,gender ,dev|test`` (as lhotse reads it)."""
    path = Path(path)
    meta: dict[str, SpeakerMetadata] = {}
    for n, line in iter_raw_lines(path):
        if n == 1 or not line.strip():
            continue
        fields = [x.strip() for x in line.split(",")]
        if len(fields) != 4:
            raise DataError("expected 4 comma-separated fields 'id, vggface2 id, gender, set'", path, n)
        spk, _, gender, split = fields
        meta[spk] = SpeakerMetadata(id=spk, name="", gender=gender, nationality="", split=split)
    return meta


def _layout_speaker(path: Path, root: Path) -> str:
    """Speaker of ``<root>/.../<spk>/<youtube id>/<utt>.<ext>``; anything else is a DataError."""
    parts = path.relative_to(root).parts
    if len(parts) < 3 or not _SPK_RE.match(parts[-3]):
        raise DataError("expected the layout <speaker id idNNNNN>/<youtube id>/<utt>.<ext>", path)
    return parts[-3]


def scan_corpus(files: Sequence[Path], root: Path, meta: dict[str, SpeakerMetadata], meta_path: Path | str,
                num_jobs: int | None = None, policy: AudioPolicy = AudioPolicy(SAMPLING_RATE)) -> tuple[RecordingSet, SupervisionSet]:
    """Recordings and supervisions of ``files``, each checked (layout, known speaker, and the audio checks
    of :mod:`embspace.data.audio_check`, in ``num_jobs`` processes); one DataError lists every bad file.

    Ids and fields are lhotse's (``lhotse.recipes.voxceleb``): recording id ``<spk>-<youtube id>-<utt>``,
    speaker, gender, custom ``speaker_name`` / ``nationality`` / ``split``.
    """
    for p in files:
        spk = _layout_speaker(p, root)
        if spk not in meta:
            raise DataError(f"speaker of {p} is not in the speaker list", meta_path, key=spk)
    items = [AudioItem("-".join(p.with_suffix("").parts[-3:]), str(p)) for p in files]
    infos = scan_audio(items, policy, num_jobs, listing=root, desc=f"checking {root.name}")
    seen: dict[str, str] = {}
    recs, sups = [], []
    for item in items:
        if item.key in seen:
            raise DataError(f"two files map to recording id '{item.key}' (first: {seen[item.key]})", item.source)
        seen[item.key] = item.source
        rec = make_recording(item, infos[item.key], policy)
        spk = meta[Path(item.source).parts[-3]]
        recs.append(rec)
        sups.append(SupervisionSegment(id=rec.id, recording_id=rec.id, speaker=spk.id, gender=spk.gender, start=0.0,
                                       duration=rec.duration, channel=policy.channel_of(infos[item.key]),
                                       custom={"speaker_name": spk.name, "nationality": spk.nationality, "split": spk.split}))
    order = sorted(range(len(recs)), key=lambda i: recs[i].id)
    return (RecordingSet.from_recordings([recs[i] for i in order]),
            SupervisionSet.from_segments([sups[i] for i in order]))


def voxceleb1_files(root: str | os.PathLike) -> tuple[Path, list[Path], dict[str, SpeakerMetadata], Path]:
    """The wav files under ``<root>/wav`` and the speaker list ``<root>/vox1_meta.csv``."""
    root = Path(root).resolve()
    wav = root / "wav"
    if not wav.is_dir():
        raise DataError("no 'wav' folder: expected <root>/wav/idNNNNN/<youtube id>/NNNNN.wav", root)
    meta_path = root / "vox1_meta.csv"
    meta = read_vox1_meta(meta_path)
    files = sorted(wav.rglob("*.wav"))
    if not files:
        raise DataError("no .wav files under the 'wav' folder", wav)
    return wav, files, meta, meta_path


def voxceleb2_files(root: str | os.PathLike, ext: str = "m4a") -> tuple[Path, list[Path], dict[str, SpeakerMetadata], Path | str]:
    """The ``*.<ext>`` files anywhere under ``root`` (lhotse: ``*.m4a``) and the speakers.

    Without ``vox2_meta.csv`` every speaker gets no gender and the split named by a ``dev``/``test``
    folder on its path (``dev`` when there is none).
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise DataError("VoxCeleb2 folder not found", root)
    files = sorted(root.rglob(f"*.{ext}"))
    if not files:
        raise DataError(f"no .{ext} files (expected [dev/|test/]aac/idNNNNN/<youtube id>/NNNNN.{ext})", root)
    meta_path = root / "vox2_meta.csv"
    if meta_path.is_file():
        return root, files, read_vox2_meta(meta_path), meta_path
    meta: dict[str, SpeakerMetadata] = {}
    for p in files:
        spk = _layout_speaker(p, root)
        parts = p.relative_to(root).parts
        split = "test" if "test" in parts[:-3] else "dev"
        meta.setdefault(spk, SpeakerMetadata(id=spk, name="", gender=None, nationality="", split=split))
    return root, files, meta, "(speakers from folder names)"


def prepare_voxceleb(voxceleb1_root: str | os.PathLike | None = None, voxceleb2_root: str | os.PathLike | None = None,
                     vox1_dev_in_train: bool = True, vox2_ext: str = "m4a", num_jobs: int | None = None,
                     resample: bool = False) -> dict[str, tuple[RecordingSet, SupervisionSet]]:
    """``{"train": (recs, sups), "test": (recs, sups)}`` as lhotse's ``prepare_voxceleb`` builds them.

    ``train``: VoxCeleb1 dev (when ``vox1_dev_in_train``) + all of VoxCeleb2; ``test``: VoxCeleb1 test
    (+ VoxCeleb1 dev when not ``vox1_dev_in_train``: Vox1-E/H trials use every VoxCeleb1 speaker).
    A split with no utterance is left out; no training utterance at all is an error. Every file is
    checked (:func:`scan_corpus`); ``resample``: files not at 16 kHz are resampled instead of rejected.
    """
    policy = AudioPolicy(SAMPLING_RATE, resample=resample)
    if not (voxceleb1_root or voxceleb2_root):
        raise DataError("give a VoxCeleb1 and/or a VoxCeleb2 root")
    train: list[tuple[RecordingSet, SupervisionSet]] = []
    test: list[tuple[RecordingSet, SupervisionSet]] = []
    if voxceleb1_root:
        wav, files, meta, meta_path = voxceleb1_files(voxceleb1_root)
        recs, sups = scan_corpus(files, wav, meta, meta_path, num_jobs, policy)
        for part in ("dev", "test"):
            s = sups.filter(lambda x: x.custom["split"] == part).to_eager()
            ids = {x.recording_id for x in s}
            r = recs.filter(lambda x: x.id in ids).to_eager()
            (train if part == "dev" and vox1_dev_in_train else test).append((r, s))
    if voxceleb2_root:
        root, files, meta, meta_path = voxceleb2_files(voxceleb2_root, vox2_ext)
        train.append(scan_corpus(files, root, meta, meta_path, num_jobs, policy))
    out: dict[str, tuple[RecordingSet, SupervisionSet]] = {}
    for split, parts in (("train", train), ("test", test)):
        recs = [r for rs, _ in parts for r in rs]
        sups = [s for _, ss in parts for s in ss]
        if not recs:
            continue
        dup = [i for i, c in Counter(r.id for r in recs).items() if c > 1]
        if dup:
            raise DataError("VoxCeleb1 and VoxCeleb2 share a recording id", key=sorted(dup)[0])
        recs_set, sups_set = fix_manifests(RecordingSet.from_recordings(sorted(recs, key=lambda r: r.id)),
                                           SupervisionSet.from_segments(sorted(sups, key=lambda s: s.id)))
        validate_recordings_and_supervisions(recs_set, sups_set)
        out[split] = (recs_set, sups_set)
    if "train" not in out:
        raise DataError("no training utterances: VoxCeleb1 dev is kept for testing (vox1_dev_in_train false) and "
                        "no VoxCeleb2 root was given")
    return out


def trial_utt_id(path_in_list: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` -> ``id10270-x6uYqmx31kE-00001`` (lhotse's recording id)."""
    return "-".join(path_in_list.split(".")[0].split("/"))


def read_labelled_pairs(trial_file: str | os.PathLike, what: str = "trial list",
                        form: str = "1|0 <path> <path>") -> list[tuple[str, str, bool, int]]:
    """Lines ``1|0 <path> <path>`` -> ``(path, path, is_target, line)``; a malformed line, a missing or
    an empty file is a DataError (``what`` names the list, ``form`` is the expected line)."""
    trial_file = Path(trial_file)
    if not trial_file.is_file():
        raise DataError(f"{what} not found", trial_file)
    out = []
    first: dict[tuple[str, str], int] = {}
    for n, fields in iter_lines(trial_file):
        if len(fields) != 3 or fields[0] not in ("0", "1"):
            raise DataError(f"expected '{form}'", trial_file, n)
        check_unique_pair(first, fields[1], fields[2], trial_file, n)
        out.append((fields[1], fields[2], fields[0] == "1", n))
    if not out:
        raise DataError(f"{what} is empty", trial_file)
    return out


def convert_trials(trial_file: str | os.PathLike, utt2spk: dict[str, str],
                   manifest_name: str = "the test manifests") -> list[tuple[str, str, bool, int]]:
    """Official list ``1|0 <enroll path> <test path>`` -> ``(enroll id, test id, is_target, line)``.

    Every utterance must be in ``utt2spk`` (the test manifests) and a label must agree with the
    speakers of the two utterances; otherwise a DataError names the trial file and line.
    """
    out = []
    for a, b, target, n in read_labelled_pairs(trial_file, form="1|0 <spk>/<youtube id>/<utt>.wav <spk>/<youtube id>/<utt>.wav"):
        ids = []
        for p in (a, b):
            u = trial_utt_id(p)
            if u not in utt2spk:
                raise DataError(f"utterance '{u}' ({p}) is not in {manifest_name}", trial_file, n)
            ids.append(u)
        if target != (utt2spk[ids[0]] == utt2spk[ids[1]]):
            raise DataError(f"label {int(target)} disagrees with the speakers '{utt2spk[ids[0]]}' and '{utt2spk[ids[1]]}'",
                            trial_file, n)
        out.append((ids[0], ids[1], target, n))
    return out


def kaldi_trial_lines(trials: Iterable[tuple[str, str, bool, int]]) -> list[str]:
    """``enroll test target|nontarget`` lines."""
    return [f"{a} {b} {'target' if t else 'nontarget'}" for a, b, t, _ in trials]


def lhotse_trial_cuts(trials: Sequence[tuple[str, str, bool, int]], recs: RecordingSet,
                      sups: SupervisionSet) -> dict[str, CutSet]:
    """lhotse's trial CutSets (``pos-trials_utt1`` ...): paired cuts with ids ``trial-<0-based line>``."""
    needed = {u for a, b, _, _ in trials for u in (a, b)}
    rec_by_id = {r.id: r for r in recs if r.id in needed}
    sup_by_rec = {s.recording_id: s for s in sups if s.recording_id in needed}
    out: dict[str, list[MonoCut]] = {f"{k}-trials_utt{i}": [] for k in ("pos", "neg") for i in (1, 2)}
    for a, b, target, line in trials:
        kind = "pos" if target else "neg"
        for i, u in ((1, a), (2, b)):
            r = rec_by_id[u]
            out[f"{kind}-trials_utt{i}"].append(MonoCut(id=f"trial-{line - 1}", recording=r, start=0, duration=r.duration,
                                                        channel=0, supervisions=[sup_by_rec[u]]))
    return {k: CutSet.from_cuts(v) for k, v in out.items()}
