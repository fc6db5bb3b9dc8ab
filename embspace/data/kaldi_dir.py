"""Kaldi data directories <-> lhotse manifests, with validation that names the bad file, line and key.

Import checks the tables as strictly as Kaldi's ``validate_data_dir.sh`` and every recording of
``wav.scp`` (files and ``cmd |`` pipes) with the shared audio scanner. Recordings and supervisions
are built here rather than by ``lhotse.kaldi.load_kaldi_data_dir``, which takes the sampling rate
it is given and channel 0 on trust and silently drops up to 20% unreadable recordings. Export is
ours too: lhotse's exporter renames the ids of multi-channel recordings and writes ``text`` as
``None`` when there is none.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from embspace.data.audio_check import AudioItem, AudioPolicy, make_recording, scan_audio
from embspace.data.kaldi_utils import check_consistent, load_data_dir
from embspace.data.tables import key_lines, read_table, utt2spk_to_spk2utt, write_table
from embspace.utils.atomic import make_tmp_dir
from embspace.utils.errors import DataError

if TYPE_CHECKING:  # lhotse is imported where it is used: validate_data_dir (utils/validate_data_dir.py) stays quick
    from lhotse import Recording, RecordingSet, SupervisionSet

#: tables whose lines must be C-sorted by key (Kaldi's check_sorted_and_uniq)
SORTED_TABLES = ("wav.scp", "utt2spk", "spk2utt", "segments", "text", "utt2dur", "utt2lang", "utt2num_frames",
                 "utt2uniq", "feats.scp", "vad.scp", "reco2file_and_channel", "reco2dur", "spk2gender", "cmvn.scp")
#: audio Kaldi reads directly; anything else (and any conversion) goes through a pipe
_SOX_FORMATS = (".wav", ".flac", ".sph", ".ogg", ".aiff")


def _check_sorted(path: Path) -> None:
    """Keys in ``LC_ALL=C sort`` order (Python's string order on UTF-8 text)."""
    prev = None
    for n, key in ((n, k) for k, n in key_lines(path).items()):
        if prev is not None and key < prev:
            raise DataError(f"not sorted (keys must be in LC_ALL=C sort order; run utils/fix_data_dir.py {path.parent})",
                            path, n, key)
        prev = key


def validate_data_dir(data_dir: str | os.PathLike) -> None:
    """Check a Kaldi data dir as Kaldi's ``validate_data_dir.sh`` does; raise DataError naming file, line and key.

    Unique keys; ``wav.scp``; every per-utterance table (``text``, ``utt2dur``, ``wav.scp`` without
    ``segments``...) has exactly the utterances of ``utt2spk``; segments point into ``wav.scp``;
    ``spk2utt`` (when present) is ``utt2spk`` inverted; ``spk2gender`` has every speaker, no other,
    ``m``/``f`` only; every table C-sorted.
    """
    d = Path(data_dir)
    dd = load_data_dir(d)
    if "wav.scp" not in dd.tables:
        raise DataError("file not found", d / "wav.scp")
    check_consistent(dd)
    utt2spk = dd.utt2spk
    expected = {spk: " ".join(utts) for spk, utts in utt2spk_to_spk2utt(utt2spk).items()}
    if (d / "spk2utt").is_file():
        lines = key_lines(d / "spk2utt")
        got = read_table(d / "spk2utt", rest_as_string=True)
        for spk, utts in got.items():
            if spk not in expected:
                raise DataError("speaker is not in utt2spk", d / "spk2utt", lines[spk], spk)
            if " ".join(sorted(utts.split())) != expected[spk]:
                raise DataError(f"lists {' '.join(sorted(utts.split()))} but utt2spk gives {expected[spk]}",
                                d / "spk2utt", lines[spk], spk)
        for spk in expected:
            if spk not in got:
                raise DataError("speaker of utt2spk is missing", d / "spk2utt", key=spk)
    if "spk2gender" in dd.tables:
        lines = key_lines(d / "spk2gender")
        for spk, g in dd.tables["spk2gender"].items():
            if spk not in expected:
                raise DataError("speaker is not in utt2spk", d / "spk2gender", lines[spk], spk)
            if g not in ("m", "f"):
                raise DataError(f"gender must be m or f, got '{g}'", d / "spk2gender", lines[spk], spk)
        for utt, line in key_lines(d / "utt2spk").items():
            if utt2spk[utt] not in dd.tables["spk2gender"]:
                raise DataError(f"speaker '{utt2spk[utt]}' is not in spk2gender", d / "utt2spk", line, utt)
    for name in SORTED_TABLES:
        if (d / name).is_file():
            _check_sorted(d / name)


def import_data_dir(data_dir: str | os.PathLike, sampling_rate: int = 16000, resample: bool = False,
                    channel: int | None = None, num_jobs: int | None = None) -> tuple[RecordingSet, SupervisionSet]:
    """Validate a Kaldi data dir and check every recording of ``wav.scp``; then build the lhotse manifests.

    All bad recordings are reported in one DataError (see :func:`embspace.data.audio_check.scan_audio`).
    ``resample``: recordings at another rate are resampled by lhotse; ``channel``: the channel used of
    multi-channel recordings (default: they are an error).
    """
    from lhotse import RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.qa import validate_recordings_and_supervisions

    d = Path(data_dir)
    validate_data_dir(d)
    dd = load_data_dir(d)
    policy = AudioPolicy(sampling_rate=sampling_rate, resample=resample, channel=channel)
    lines = key_lines(d / "wav.scp")
    items = []
    for reco, value in dd.tables["wav.scp"].items():
        command = value.endswith("|")
        items.append(AudioItem(reco, value[:-1].rstrip() if command else value, command, lines[reco]))
    infos = scan_audio(items, policy, num_jobs, listing=d / "wav.scp")
    recs = {it.key: make_recording(it, infos[it.key], policy) for it in items}
    tables = dd.tables
    segments = tables.get("segments")
    seg_lines = key_lines(d / "segments") if segments else {}
    sups = []
    for utt in sorted(dd.utt2spk):
        spk = dd.utt2spk[utt]
        if segments:
            reco, start, end = segments[utt].split()
            rec = recs[reco]
            start, end = float(start), (rec.duration if end == "-1" else float(end))
            if not 0 <= start < end or end > rec.duration + 0.01:
                raise DataError(f"segment {start:g}-{end:g} s is not inside recording '{reco}' (0-{rec.duration:.3f} s)",
                                d / "segments", seg_lines[utt], utt)
            end = min(end, rec.duration)
        else:
            reco, start, end = utt, 0.0, recs[utt].duration
        sups.append(SupervisionSegment(
            id=utt, recording_id=reco, start=start, duration=end - start, channel=policy.channel_of(infos[reco]),
            speaker=spk, text=tables["text"][utt] if "text" in tables else None,
            gender=tables["spk2gender"][spk] if "spk2gender" in tables else None,
            language=tables["utt2lang"][utt] if "utt2lang" in tables else None))
    recording_set = RecordingSet.from_recordings(recs[k] for k in sorted(recs))
    supervision_set = SupervisionSet.from_segments(sups)
    validate_recordings_and_supervisions(recording_set, supervision_set)
    return recording_set, supervision_set


def wav_scp_entry(rec: Recording, channel: int, kaldi_pipes: bool = False) -> str:
    """``wav.scp`` value of a recording: the file itself (any format soundfile/lhotse read: WAV, FLAC,
    .m4a...) unless it must be resampled or one of its channels picked; then, and for every format
    other than WAV when ``kaldi_pipes`` (for Kaldi's own binaries, which read only WAV), a pipe
    through sox (WAV/FLAC..., as Kaldi recipes do) or ffmpeg (.m4a and the like). Reading a pipe
    needs that program (``apt-get install sox ffmpeg``)."""
    from lhotse.augmentation import Resample

    if len(rec.sources) != 1:
        raise DataError("a recording with one source per channel has no wav.scp form here", key=rec.id)
    src = rec.sources[0]
    if src.type not in ("file", "command"):
        raise DataError(f"audio source type '{src.type}' has no wav.scp form", key=rec.id)
    rate = None
    for t in rec.transforms or []:
        if not isinstance(t, Resample):
            raise DataError(f"transform {type(t).__name__} has no wav.scp form", key=rec.id)
        rate = rec.sampling_rate
    remix = len(src.channels) > 1
    suffix = Path(src.source).suffix.lower() if src.type == "file" else ".wav"
    if not rate and not remix and (suffix == ".wav" or (src.type == "file" and not kaldi_pipes)):
        return src.source if src.type == "file" else f"{src.source} |"
    if suffix in _SOX_FORMATS:
        head = f"sox {shlex.quote(src.source)}" if src.type == "file" else f"{src.source} | sox -t wav -"
        return f"{head} -t wav{f' -r {rate}' if rate else ''} -{f' remix {channel + 1}' if remix else ''} |"
    pan = f" -af {shlex.quote(f'pan=mono|c0=c{channel}')}" if remix else ""
    return f"ffmpeg -nostdin -v error -i {shlex.quote(src.source)}{f' -ar {rate}' if rate else ''}{pan} -f wav - |"


def _num(x: float) -> str:
    """Seconds as lhotse writes them: exact to 0.1 microsecond (a sample at 16 kHz is 62.5)."""
    return str(round(float(x), 7))


def kaldi_tables(recs: RecordingSet, sups: SupervisionSet, kaldi_pipes: bool = False) -> dict[str, dict[str, str]]:
    """The Kaldi tables of a corpus (``kaldi_pipes``: see :func:`wav_scp_entry`): ``wav.scp``, ``utt2spk``, ``spk2utt``, ``utt2dur``, ``reco2dur``,
    ``segments`` (unless every utterance is a whole recording), ``text`` / ``utt2lang`` (when every
    utterance has one), ``spk2gender`` (when every speaker has one; a speaker with two is an error)."""
    by_id = {r.id: r for r in recs}
    sup_list = sorted(sups, key=lambda s: s.id)
    utt2spk: dict[str, str] = {}
    channels: dict[str, set[int]] = {}
    genders: dict[str, str] = {}
    for s in sup_list:
        if not s.speaker:
            raise DataError("supervision has no speaker", key=s.id)
        utt2spk[s.id] = s.speaker
        channels.setdefault(s.recording_id, set()).add(s.channel if isinstance(s.channel, int) else s.channel[0])
        if s.gender:
            g = s.gender.lower()[:1]
            if g not in ("m", "f"):
                raise DataError(f"gender '{s.gender}' is not m/f (male/female)", key=s.speaker)
            if genders.setdefault(s.speaker, g) != g:
                raise DataError(f"speaker has utterances with genders {genders[s.speaker]} and {g}", key=s.speaker)
    for reco, chans in channels.items():
        if len(chans) > 1:
            raise DataError("utterances on several channels of one recording have no wav.scp form", key=reco)
    used = {r: by_id[r] for r in sorted(channels)}
    tables: dict[str, dict[str, str]] = {
        "wav.scp": {r: wav_scp_entry(rec, next(iter(channels[r])), kaldi_pipes) for r, rec in used.items()},
        "utt2spk": utt2spk,
        "spk2utt": {spk: " ".join(us) for spk, us in utt2spk_to_spk2utt(utt2spk).items()},
        "utt2dur": {s.id: _num(s.duration) for s in sup_list},
        "reco2dur": {r: _num(rec.duration) for r, rec in used.items()},
    }
    whole = all(s.recording_id == s.id and s.start == 0 and abs(s.duration - used[s.id].duration) < 1e-3 for s in sup_list)
    if not whole:
        tables["segments"] = {s.id: f"{s.recording_id} {_num(s.start)} {_num(s.end)}" for s in sup_list}
    if all(s.text is not None for s in sup_list):
        tables["text"] = {s.id: s.text for s in sup_list}
    if all(s.language for s in sup_list):
        tables["utt2lang"] = {s.id: s.language for s in sup_list}
    if genders and len(genders) == len(tables["spk2utt"]):
        tables["spk2gender"] = genders
    return tables


def fill_data_dir(tables: dict[str, dict[str, str]], folder: str | os.PathLike) -> None:
    """Write the tables into the (new, empty) ``folder`` and validate it as a data dir."""
    folder = Path(folder)
    for name, table in tables.items():
        write_table(folder / name, table)
    validate_data_dir(folder)


def write_data_dir(tables: dict[str, dict[str, str]], out_dir: str | os.PathLike) -> None:
    """Write tables into a temporary folder beside ``out_dir``, validate, rename over ``out_dir``."""
    out_dir = Path(out_dir)
    tmp = make_tmp_dir(out_dir)
    try:
        fill_data_dir(tables, tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_data_dir(recs: RecordingSet, sups: SupervisionSet, out_dir: str | os.PathLike, kaldi_pipes: bool = False) -> None:
    """Write the Kaldi data dir of a corpus (see :func:`kaldi_tables`), atomically."""
    write_data_dir(kaldi_tables(recs, sups, kaldi_pipes), out_dir)
