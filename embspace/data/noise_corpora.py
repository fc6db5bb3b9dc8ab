"""MUSAN and RIRS_NOISES manifests with lhotse's ids and file names, every file checked, written atomically.

Built here rather than by ``lhotse.recipes.prepare_musan`` / ``prepare_rir_noise``, which insist on
parts the recipes do not use (``music/*/ANNOTATIONS``: an IndexError without them;
``pointsource_noises/``) and read each file without the checks of :mod:`embspace.data.audio_check`.

* MUSAN: ``musan_recordings_{music,speech,noise}.jsonl.gz`` (every part present; id = file stem),
  ``musan_supervisions_music.jsonl.gz`` (when ``music/*/ANNOTATIONS`` exist: genres, vocals,
  musician), and ``musan_recordings_all.jsonl.gz``: every part together, the noise source for
  augmentation.
* RIRS_NOISES: ``sim-rir_recordings_all.jsonl.gz`` (``simulated_rirs/``, required; ids
  ``<small|medium|large>-RoomNNN-NNNNN``) and, when their folders exist, ``real-rir``, ``iso-noise``
  (``real_rirs_isotropic_noises/``) and ``point-noise`` (``pointsource_noises/``). Multi-channel
  real RIRs keep their channels (lhotse convolves with the first).

A part left out this time has its manifest of an earlier run removed.
"""

from __future__ import annotations

import os
from pathlib import Path

from lhotse import RecordingSet, SupervisionSegment, SupervisionSet

from embspace.data.audio_check import AudioItem, AudioPolicy, make_recording, scan_audio
from embspace.data.manifests import write_manifest
from embspace.data.tables import iter_lines
from embspace.utils.errors import DataError

MUSAN_PARTS = ("music", "speech", "noise")
RIR_PARTS = {"sim_rir": "simulated_rirs", "real_rir": "real_rirs_isotropic_noises",
             "iso_noise": "real_rirs_isotropic_noises", "point_noise": "pointsource_noises"}
ROOMS = ("small", "medium", "large")


def _unique(items: list[AudioItem]) -> None:
    seen: dict[str, str] = {}
    for it in items:
        if it.key in seen:
            raise DataError(f"two files have the recording id '{it.key}' (first: {seen[it.key]})", it.source)
        seen[it.key] = it.source


def _recordings(groups: dict[str, list[AudioItem]], policy: AudioPolicy, listing: Path,
                num_jobs: int | None) -> dict[str, RecordingSet]:
    """Check every file of every group in one scan; ``{group: RecordingSet}`` sorted by id."""
    everything = [it for items in groups.values() for it in items]
    infos = scan_audio(everything, policy, num_jobs, listing=listing, desc=f"checking {listing.name}")
    return {g: RecordingSet.from_recordings(sorted((make_recording(it, infos[it.key], policy) for it in items),
                                                   key=lambda r: r.id))
            for g, items in groups.items()}


def _music_supervisions(music: Path, recs: RecordingSet) -> SupervisionSet | None:
    """``music/*/ANNOTATIONS`` (``<utt> <genre,genre> <Y|N> <musician>``), as lhotse reads them; None without any."""
    files = sorted(music.rglob("ANNOTATIONS"))
    if not files:
        return None
    ids = set(recs.ids)
    sups = []
    for path in files:
        for n, fields in iter_lines(path):
            if len(fields) < 4:
                raise DataError("expected '<utt> <genres> <Y|N> <musician>'", path, n, fields[0])
            utt, genres, vocals, musician = fields[:4]
            if utt not in ids:
                raise DataError("no such recording under music/", path, n, utt)
            sups.append(SupervisionSegment(id=utt, recording_id=utt, start=0, duration=recs[utt].duration, speaker=musician,
                                           custom={"genres": genres.split(","), "vocals": vocals == "Y"}))
    return SupervisionSet.from_segments(sorted(sups, key=lambda s: s.id))


def prepare_musan_manifests(root: str | os.PathLike, out_dir: str | os.PathLike, sampling_rate: int = 16000,
                            resample: bool = False, num_jobs: int | None = None) -> dict[str, Path]:
    """MUSAN manifests from ``<root>/{music,speech,noise}`` (any subset); returns ``{name: path}`` written."""
    root = Path(root).resolve()
    parts = [p for p in MUSAN_PARTS if (root / p).is_dir()]
    if not parts:
        raise DataError("not a MUSAN folder: none of music/, speech/, noise/ is there", root)
    groups = {p: [AudioItem(f.stem, str(f)) for f in sorted((root / p).rglob("*.wav"))] for p in parts}
    for part, items in groups.items():
        if not items:
            raise DataError("no .wav files", root / part)
    _unique([it for items in groups.values() for it in items])
    recs = _recordings(groups, AudioPolicy(sampling_rate, resample=resample), root, num_jobs)
    music_sups = _music_supervisions(root / "music", recs["music"]) if "music" in recs else None
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    for part in MUSAN_PARTS:
        path = out_dir / f"musan_recordings_{part}.jsonl.gz"
        if part in recs:
            write_manifest(recs[part], path)
            written[f"recordings_{part}"] = path
        else:
            path.unlink(missing_ok=True)
    sup_path = out_dir / "musan_supervisions_music.jsonl.gz"
    if music_sups is not None:
        write_manifest(music_sups, sup_path)
        written["supervisions_music"] = sup_path
    else:
        sup_path.unlink(missing_ok=True)
    written["recordings_all"] = out_dir / "musan_recordings_all.jsonl.gz"
    write_manifest(RecordingSet.from_recordings(sorted((r for rs in recs.values() for r in rs), key=lambda r: r.id)),
          written["recordings_all"])
    return written


def _rir_items(root: Path, part: str) -> list[AudioItem]:
    """The files of one RIRS_NOISES part, with lhotse's recording ids."""
    d = root / RIR_PARTS[part]
    if part == "sim_rir":
        return [AudioItem(f"{room}-{f.stem}", str(f)) for room in ROOMS for f in sorted((d / f"{room}room").rglob("*.wav"))]
    keep = {"real_rir": "rir", "iso_noise": "noise", "point_noise": ""}[part]
    return [AudioItem(f.stem, str(f)) for f in sorted(d.rglob("*.wav")) if keep in f.stem]


def prepare_rir_manifests(root: str | os.PathLike, out_dir: str | os.PathLike, sampling_rate: int = 16000,
                          resample: bool = False, num_jobs: int | None = None) -> dict[str, Path]:
    """RIRS_NOISES manifests: the simulated RIRs, and the other parts present; returns ``{part: path}``."""
    root = Path(root).resolve()
    if not (root / RIR_PARTS["sim_rir"]).is_dir():
        raise DataError("not a RIRS_NOISES folder: no simulated_rirs/ (the RIRs the recipes use)", root)
    groups = {part: _rir_items(root, part) for part in RIR_PARTS if (root / RIR_PARTS[part]).is_dir()}
    if not groups["sim_rir"]:
        raise DataError("no simulated RIRs (expected {small,medium,large}room/RoomNNN/RoomNNN-NNNNN.wav)",
                        root / "simulated_rirs")
    for items in groups.values():
        _unique(items)
    recs = _recordings(groups, AudioPolicy(sampling_rate, resample=resample, any_channels=True), root, num_jobs)
    written: dict[str, Path] = {}
    for part in RIR_PARTS:
        path = Path(out_dir) / f"{part.replace('_', '-')}_recordings_all.jsonl.gz"
        if recs.get(part):
            write_manifest(recs[part], path)
            written[part] = path
        else:
            path.unlink(missing_ok=True)
    return written
