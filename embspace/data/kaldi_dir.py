"""Kaldi data directories <-> lhotse manifests, with validation that names the bad file, line and key.

Import checks the tables as strictly as Kaldi's ``validate_data_dir.sh`` (less the byte-level rules
that only Kaldi's own readers need: a byte-order mark and CRLF line ends are read like everywhere
else, see :mod:`embspace.data.tables`) and every recording of
``wav.scp`` (files and ``cmd |`` pipes) with the shared audio scanner. Recordings and supervisions
are built here rather than by ``lhotse.kaldi.load_kaldi_data_dir``, which takes the sampling rate
it is given and channel 0 on trust and silently drops up to 20% unreadable recordings. Export is
ours too: lhotse's exporter renames the ids of multi-channel recordings and writes ``text`` as
``None`` when there is none.
"""

from __future__ import annotations

import itertools
import math
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
                 "utt2uniq", "feats.scp", "vad.scp", "reco2file_and_channel", "reco2dur", "spk2gender", "cmvn.scp",
                 "spk2warp", "utt2warp")
#: audio Kaldi reads directly; anything else (and any conversion) goes through a pipe
_SOX_FORMATS = (".wav", ".flac", ".sph", ".ogg", ".aiff")
#: words a transcript may not contain (Kaldi reserves them for the language model)
_ILLEGAL_WORDS = ("<s>", "</s>", "#0")
_FIX = "run utils/fix_data_dir.py"


def _check_raw(path: Path) -> None:
    """Bytes Kaldi tools would misread: a byte-order mark, CRLF line ends, a blank line, no final newline."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        raise DataError(f"starts with a UTF-8 byte-order mark, which Kaldi reads as part of the first key ({_FIX})", path, 1)
    lines = data.split(b"\n")
    for n, raw in enumerate(lines[:-1], 1):
        if raw.endswith(b"\r"):
            raise DataError(f"line ends in CR (a CRLF file; {_FIX})", path, n)
        if not raw.strip():
            raise DataError(f"empty line ({_FIX})", path, n)
    if lines[-1]:
        raise DataError("the last line has no newline", path, len(lines))


def _check_sorted(path: Path) -> None:
    """Keys in ``LC_ALL=C sort`` order (Python's string order on UTF-8 text)."""
    prev = None
    for n, key in ((n, k) for k, n in key_lines(path).items()):
        if prev is not None and key < prev:
            raise DataError(f"not sorted (keys must be in LC_ALL=C sort order; {_FIX} {path.parent})", path, n, key)
        prev = key


def _positive(path: Path, lines: dict[str, int], table: dict[str, str], what: str, integer: bool = False) -> None:
    """Every value of ``table`` is one finite number > 0 (an integer with ``integer``)."""
    for key, value in table.items():
        try:
            x = float(value)
            ok = math.isfinite(x) and x > 0 and (not integer or x == int(x))
        except ValueError:
            ok = False
        if not ok:
            raise DataError(f"{what} must be a {'positive integer' if integer else 'number > 0'}, got '{value}'",
                            path, lines[key], key)


def _same_keys(path: Path, table: dict, expected: dict | set, what: str, source: str) -> None:
    """The keys of ``table`` are exactly ``expected``; the error names the first extra or missing key."""
    lines = key_lines(path)
    for key in table:
        if key not in expected:
            raise DataError(f"{what} is not in {source}", path, lines[key], key)
    for key in expected:
        if key not in table:
            raise DataError(f"{what} of {source} is missing", path, key=key)


def _check_segments(d: Path, dd) -> None:
    """Segments: start >= 0, end > start (both finite), and every recording of wav.scp has a segment."""
    lines = key_lines(d / "segments")
    for utt, seg in dd.tables["segments"].items():
        start, end = (float(x) for x in seg.split()[1:])
        if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end):
            raise DataError(f"segment must have 0 <= start < end, got start {seg.split()[1]} end {seg.split()[2]}",
                            d / "segments", lines[utt], utt)
    used = {seg.split()[0] for seg in dd.tables["segments"].values()}
    wav_lines = key_lines(d / "wav.scp")
    for reco in dd.tables["wav.scp"]:
        if reco not in used:
            raise DataError(f"recording has no segment in segments ({_FIX} {d})", d / "wav.scp", wav_lines[reco], reco)


def _check_spk2utt(d: Path, utt2spk: dict[str, str], spk_sort: bool) -> None:
    """``spk2utt`` is ``utt2spk`` inverted, in its order (Kaldi compares the two files line by line);
    with ``spk_sort``, utt2spk is also sorted by speaker."""
    lines = key_lines(d / "utt2spk")
    utts = list(utt2spk)
    if spk_sort:
        for prev, utt in itertools.pairwise(utts):
            if utt2spk[utt] < utt2spk[prev]:
                raise DataError(f"speaker '{utt2spk[utt]}' sorts before '{utt2spk[prev]}' of the line above: utt2spk "
                                "must be sorted by speaker too (make speaker ids prefixes of utterance ids)",
                                d / "utt2spk", lines[utt], utt)
    if not (d / "spk2utt").is_file():
        raise DataError(f"file not found ({_FIX} {d} to make it)", d / "spk2utt")
    expected: dict[str, list[str]] = {}
    for utt in utts:
        expected.setdefault(utt2spk[utt], []).append(utt)
    got = read_table(d / "spk2utt", rest_as_string=True)
    spk_lines = key_lines(d / "spk2utt")
    for spk, listed in got.items():
        if spk not in expected:
            raise DataError("speaker is not in utt2spk", d / "spk2utt", spk_lines[spk], spk)
        if listed.split() != expected[spk]:
            raise DataError(f"lists {listed} but utt2spk gives {' '.join(expected[spk])}", d / "spk2utt", spk_lines[spk], spk)
    for spk in expected:
        if spk not in got:
            raise DataError("speaker of utt2spk is missing", d / "spk2utt", key=spk)
    if list(got) != list(expected):
        raise DataError(f"the speakers of spk2utt and utt2spk are not in the same order ({_FIX} {d})", d / "spk2utt")


def _check_text(path: Path, text: dict[str, str], printable: bool) -> None:
    """Transcripts as Kaldi's validate_text.pl and validate_data_dir.sh check them."""
    lines = key_lines(path)
    for utt, words in text.items():
        for ch in words:
            if ch.isspace() and ch not in " \t":
                raise DataError(f"transcript contains the whitespace character U+{ord(ch):04X}; only spaces and tabs "
                                "are allowed", path, lines[utt], utt)
            if printable and not ch.isprintable() and ch != "\t":
                raise DataError(f"transcript contains the non-printable character U+{ord(ch):04X} (allow with "
                                "--non-print)", path, lines[utt], utt)
        for word in words.split():
            if word in _ILLEGAL_WORDS:
                raise DataError(f"transcript contains the reserved symbol {word}", path, lines[utt], utt)


def _check_r2fc(d: Path, table: dict[str, str], recordings: dict | set, warnings: list[str]) -> None:
    """``reco2file_and_channel``: ``<reco> <file> A|B`` for exactly the recordings."""
    lines = key_lines(d / "reco2file_and_channel")
    path = d / "reco2file_and_channel"
    for reco, value in table.items():
        fields = value.split()
        if len(fields) == 2 and fields[1] == "1":
            warnings.append(f"{path}:{lines[reco]}: channel should be A or B, not 1")
        elif len(fields) != 2 or fields[1] not in ("A", "B"):
            raise DataError("expected '<reco> <file> A|B'", path, lines[reco], reco)
    _same_keys(path, table, recordings, "recording", "wav.scp/segments")


def validate_data_dir(data_dir: str | os.PathLike, need_text: bool = False, need_feats: bool = False,
                      need_wav: bool = True, spk_sort: bool = True, printable: bool = True,
                      check_bytes: bool = True, option_hints: bool = False) -> list[str]:
    """Check a Kaldi data dir as Kaldi's ``validate_data_dir.sh`` does; raise DataError naming file, line and key.

    Every table: UTF-8 without byte-order mark or CR, no blank line, a final newline, unique keys in
    ``LC_ALL=C`` order. ``utt2spk`` (not empty, ``<utt> <spk>``; with ``spk_sort`` also sorted by speaker)
    and ``spk2utt`` (its inverse, same order); ``wav.scp`` (unless ``need_wav`` is False), ``text``
    (only with ``need_text``: Kaldi's ``--no-text`` is the default here) and ``feats.scp`` (``need_feats``).
    Per-utterance tables have exactly the utterances of ``utt2spk``; segments ``<utt> <reco> <start> <end>``
    with ``0 <= start < end`` and every recording of ``wav.scp`` used; ``utt2dur``/``reco2dur`` numbers
    > 0, ``utt2num_frames`` positive integers; ``reco2file_and_channel`` ``A``/``B``; ``spk2gender``
    (``m``/``f``) and ``cmvn.scp`` with exactly the speakers; ``*2warp`` between 0.5 and 1.5; transcripts
    without reserved symbols, unusual whitespace or (with ``printable``) non-printable characters; no
    ``~`` in ``wav.scp``. Returns the warnings (one speaker only; channel ``1``).

    ``check_bytes=False`` leaves out the byte-level checks (byte-order mark, CR, blank lines, final
    newline), which matter to Kaldi's tools but not to this package's readers (import uses it).
    ``option_hints``: a missing table's error names the option that waives it (``--no-wav``: for
    ``utils/validate_data_dir.py``, which has those options).
    """
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError("data dir not found", d)
    for name in SORTED_TABLES:
        if check_bytes and (d / name).is_file():
            _check_raw(d / name)
    dd = load_data_dir(d)
    utt2spk = dd.utt2spk
    if not utt2spk:
        raise DataError("no utterances (empty file)", d / "utt2spk")
    for name, needed, flag in (("wav.scp", need_wav, "--no-wav"), ("text", need_text, "--no-text"),
                               ("feats.scp", need_feats, "--no-feats")):
        if needed and name not in dd.tables:
            hint = f"if this is by design, use {flag}" if option_hints else "this data dir needs it here"
            raise DataError(f"file not found ({hint})", d / name)
    check_consistent(dd)
    for name in SORTED_TABLES:
        if (d / name).is_file():
            _check_sorted(d / name)
    _check_spk2utt(d, utt2spk, spk_sort)
    speakers = set(utt2spk.values())
    warnings = [f"{d}: only one speaker"] if len(speakers) == 1 else []
    tables = dd.tables
    if "wav.scp" in tables:
        lines = key_lines(d / "wav.scp")
        for reco, value in tables["wav.scp"].items():
            if value.startswith("~"):
                raise DataError("do not use ~ in wav.scp (Kaldi does not expand it)", d / "wav.scp", lines[reco], reco)
    recordings = tables.get("wav.scp", {}) if dd.segmented else utt2spk
    if dd.segmented:
        _check_segments(d, dd)
    if "reco2file_and_channel" in tables:
        _check_r2fc(d, tables["reco2file_and_channel"], recordings, warnings)
    if "text" in tables:
        _check_text(d / "text", tables["text"], printable)
    for name, integer in (("utt2dur", False), ("utt2num_frames", True), ("reco2dur", False)):
        if name in tables:
            _positive(d / name, key_lines(d / name), tables[name], "frame count" if integer else "duration", integer)
    if "reco2dur" in tables:
        _same_keys(d / "reco2dur", tables["reco2dur"], recordings, "recording", "wav.scp/segments")
    if "spk2gender" in tables:
        lines = key_lines(d / "spk2gender")
        for spk, g in tables["spk2gender"].items():
            if g not in ("m", "f"):
                raise DataError(f"gender must be m or f, got '{g}'", d / "spk2gender", lines[spk], spk)
        _same_keys(d / "spk2gender", tables["spk2gender"], speakers, "speaker", "utt2spk")
    if "cmvn.scp" in tables:
        _same_keys(d / "cmvn.scp", tables["cmvn.scp"], speakers, "speaker", "utt2spk")
    for name, keys in (("spk2warp", speakers), ("utt2warp", utt2spk)):
        if (d / name).is_file():
            table = read_table(d / name, rest_as_string=True)
            lines = key_lines(d / name)
            for key, value in table.items():
                try:
                    ok = 0.5 < float(value) < 1.5
                except ValueError:
                    ok = False
                if not ok:
                    raise DataError(f"warp factor must be between 0.5 and 1.5, got '{value}'", d / name, lines[key], key)
            _same_keys(d / name, table, keys, "speaker" if name == "spk2warp" else "utterance", "utt2spk")
    return warnings


def import_data_dir(data_dir: str | os.PathLike, sampling_rate: int = 16000, resample: bool = False,
                    channel: int | None = None, num_jobs: int | None = None,
                    bad_list: str | None = None) -> tuple[RecordingSet, SupervisionSet]:
    """Validate a Kaldi data dir and check every recording of ``wav.scp``; then build the lhotse manifests.

    All bad recordings are reported in one DataError (see :func:`embspace.data.audio_check.scan_audio`).
    ``resample``: recordings at another rate are resampled by lhotse; ``channel``: the channel used of
    multi-channel recordings (default: they are an error); ``bad_list``: a file for the complete
    list of bad recordings.
    """
    from lhotse import RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.qa import validate_recordings_and_supervisions

    d = Path(data_dir)
    validate_data_dir(d, check_bytes=False)
    dd = load_data_dir(d)
    policy = AudioPolicy(sampling_rate=sampling_rate, resample=resample, channel=channel, bad_list=bad_list)
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
            start, end = float(start), float(end)
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
