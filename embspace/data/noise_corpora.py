"""MUSAN and RIRS_NOISES manifests through lhotse's recipes, written atomically under lhotse's names.

* MUSAN (``lhotse.recipes.prepare_musan``): ``musan_recordings_{music,speech,noise}.jsonl.gz`` and
  ``musan_supervisions_music.jsonl.gz`` (from ``music/*/ANNOTATIONS``), plus
  ``musan_recordings_all.jsonl.gz``: every part together, the noise source for augmentation.
* RIRS_NOISES (``lhotse.recipes.prepare_rir_noise``): ``{point-noise,iso-noise,real-rir,sim-rir}_recordings_all.jsonl.gz``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lhotse import RecordingSet
from lhotse.audio.utils import AudioLoadingError
from lhotse.recipes import prepare_musan, prepare_rir_noise

from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError

MUSAN_PARTS = ("music", "speech", "noise")
RIR_PARTS = {"point_noise": "pointsource_noises", "iso_noise": "real_rirs_isotropic_noises",
             "real_rir": "real_rirs_isotropic_noises", "sim_rir": "simulated_rirs"}


def _check_rate(recs: RecordingSet, sampling_rate: int) -> None:
    for r in recs:
        if r.sampling_rate != sampling_rate:
            raise DataError(f"sampling rate is {r.sampling_rate} Hz, expected {sampling_rate} Hz", r.sources[0].source, key=r.id)


def _save(manifest, path: Path) -> None:
    with atomic_path(path) as tmp:
        manifest.to_file(tmp)


def prepare_musan_manifests(root: str | os.PathLike, out_dir: str | os.PathLike, sampling_rate: int = 16000) -> dict[str, Path]:
    """MUSAN manifests from ``<root>/{music,speech,noise}``; returns ``{name: path}`` of what was written."""
    root = Path(root).resolve()
    parts = [p for p in MUSAN_PARTS if (root / p).is_dir()]
    if not parts:
        raise DataError("not a MUSAN folder: none of music/, speech/, noise/ is there", root)
    try:
        manifests = prepare_musan(root, output_dir=None, parts=parts)
    except (AssertionError, AudioLoadingError, KeyError, ValueError, RuntimeError) as e:  # lhotse's own checks, bad ANNOTATIONS
        raise DataError(f"lhotse prepare_musan failed: {type(e).__name__}: {e}", root) from e
    everything = []
    for part in parts:
        recs = manifests[part]["recordings"]
        if len(recs) == 0:
            raise DataError("no .wav files", root / part)
        _check_rate(recs, sampling_rate)
        everything.extend(recs)
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    for part in parts:
        for key, manifest in manifests[part].items():
            path = out_dir / f"musan_{key}_{part}.jsonl.gz"
            _save(manifest, path)
            written[f"{key}_{part}"] = path
    written["recordings_all"] = out_dir / "musan_recordings_all.jsonl.gz"
    _save(RecordingSet.from_recordings(sorted(everything, key=lambda r: r.id)), written["recordings_all"])
    return written


def prepare_rir_manifests(root: str | os.PathLike, out_dir: str | os.PathLike, sampling_rate: int = 16000) -> dict[str, Path]:
    """RIRS_NOISES manifests (all four lhotse parts); returns ``{part: path}``."""
    root = Path(root).resolve()
    missing = sorted({d for d in RIR_PARTS.values() if not (root / d).is_dir()})
    if missing:
        raise DataError(f"not a RIRS_NOISES folder: missing {', '.join(missing)}/", root)
    try:
        manifests = prepare_rir_noise(root, output_dir=None, parts=tuple(RIR_PARTS))
    except (AssertionError, AudioLoadingError, KeyError, ValueError, RuntimeError) as e:
        raise DataError(f"lhotse prepare_rir_noise failed: {type(e).__name__}: {e}", root) from e
    for part in RIR_PARTS:
        _check_rate(manifests[part]["recordings"], sampling_rate)
    if len(manifests["sim_rir"]["recordings"]) == 0:
        raise DataError("no simulated RIRs (expected {small,medium,large}room/RoomNNN/RoomNNN-NNNNN.wav)", root / "simulated_rirs")
    written: dict[str, Path] = {}
    for part in RIR_PARTS:
        path = Path(out_dir) / f"{part.replace('_', '-')}_recordings_all.jsonl.gz"
        _save(manifests[part]["recordings"], path)
        written[part] = path
    return written
