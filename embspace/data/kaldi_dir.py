"""Kaldi data directories <-> lhotse manifests, with validation that names the bad file and key."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from embspace.data.tables import read_table, utt2spk_to_spk2utt, write_table
from embspace.utils.atomic import make_tmp_dir
from embspace.utils.errors import DataError

if TYPE_CHECKING:  # lhotse is imported where it is used: validate_data_dir (utils/validate_data_dir.py) stays quick
    from lhotse import RecordingSet, SupervisionSet


def validate_data_dir(data_dir: str | os.PathLike) -> None:
    """Check a Kaldi data dir: unique keys, every utterance has audio, speakers consistent.

    Raises DataError naming the file, line/key at fault.
    """
    d = Path(data_dir)
    wav = read_table(d / "wav.scp", rest_as_string=True)
    utt2spk = read_table(d / "utt2spk")
    segments = read_table(d / "segments") if (d / "segments").is_file() else None
    if segments is not None:
        for utt, fields in segments.items():
            if len(fields) != 3:
                raise DataError("expected '<utt> <reco> <start> <end>'", d / "segments", key=utt)
            if fields[0] not in wav:
                raise DataError(f"recording '{fields[0]}' is not in wav.scp", d / "segments", key=utt)
    utts = segments if segments is not None else wav
    for utt, spk in utt2spk.items():
        if not isinstance(spk, str):
            raise DataError("expected '<utt> <spk>'", d / "utt2spk", key=utt)
        if utt not in utts:
            raise DataError(f"utterance is not in {'segments' if segments is not None else 'wav.scp'}", d / "utt2spk", key=utt)
    missing = [u for u in utts if u not in utt2spk]
    if missing:
        raise DataError(f"{len(missing)} utterance(s) have no speaker in utt2spk", d / ("segments" if segments else "wav.scp"), key=missing[0])
    if (d / "spk2utt").is_file():
        expected = utt2spk_to_spk2utt(utt2spk)
        for spk, u in read_table(d / "spk2utt").items():
            u = [u] if isinstance(u, str) else u
            if sorted(u) != expected.get(spk):
                raise DataError("spk2utt disagrees with utt2spk", d / "spk2utt", key=spk)
    if (d / "spk2gender").is_file():
        for spk, g in read_table(d / "spk2gender").items():
            if g not in ("m", "f"):
                raise DataError(f"gender must be m or f, got '{g}'", d / "spk2gender", key=spk)


def _segments_are_whole_recordings(path: Path) -> bool:
    if not path.is_file():
        return False
    return all(fields[0] == fields[1] and float(fields[2]) == 0.0 for fields in (l.split() for l in path.read_text().splitlines()) if fields)


def import_data_dir(data_dir: str | os.PathLike, sampling_rate: int) -> tuple[RecordingSet, SupervisionSet]:
    """Validate, then load a Kaldi data dir with lhotse's own importer."""
    from lhotse.kaldi import load_kaldi_data_dir

    validate_data_dir(data_dir)
    recs, sups, _ = load_kaldi_data_dir(data_dir, sampling_rate=sampling_rate)
    if sups is None:
        raise DataError("no supervisions could be built (need utt2spk or segments)", data_dir)
    return recs, sups


def export_data_dir(recs: RecordingSet, sups: SupervisionSet, out_dir: str | os.PathLike) -> None:
    """Write a Kaldi data dir with lhotse's exporter plus ``spk2utt`` and ``spk2gender``.

    Written into a temporary folder and renamed over ``out_dir`` when whole.
    """
    from lhotse.kaldi import export_to_kaldi

    out_dir = Path(out_dir)
    tmp = make_tmp_dir(out_dir)
    try:
        export_to_kaldi(recs, sups, tmp)
        utt2spk = {s.id: s.speaker for s in sups}
        write_table(tmp / "spk2utt", utt2spk_to_spk2utt(utt2spk))
        genders = {s.speaker: s.gender.lower()[0] for s in sups if s.gender}
        if genders:
            write_table(tmp / "spk2gender", genders)
        (tmp / "utt2gender").unlink(missing_ok=True)  # per-speaker gender lives in spk2gender (Kaldi convention)
        if _segments_are_whole_recordings(tmp / "segments"):
            (tmp / "segments").unlink()  # Kaldi: no segments file means utterance == recording
        validate_data_dir(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
