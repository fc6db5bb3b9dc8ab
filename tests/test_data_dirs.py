"""Kaldi data dirs a newcomer can trust: strict validation, umask, optional split/gender/text."""

from __future__ import annotations

import json
import os
import stat

import pytest

from embspace.data.kaldi_dir import validate_data_dir
from embspace.data.tables import read_table
from embspace.utils.atomic import make_tmp_dir
from embspace.utils.errors import DataError
from tests.conftest import make_tiny_corpus


def _dir(d, utts: dict[str, str], **extra: str):
    """A valid data dir ``{utt: spk}`` plus extra files given verbatim."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "wav.scp").write_text("".join(f"{u} /x/{u}.wav\n" for u in sorted(utts)))
    (d / "utt2spk").write_text("".join(f"{u} {utts[u]}\n" for u in sorted(utts)))
    spk2utt: dict[str, list[str]] = {}
    for u in sorted(utts):
        spk2utt.setdefault(utts[u], []).append(u)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    for name, text in extra.items():
        (d / name).write_text(text)
    return d


UTTS = {"a-1": "a", "a-2": "a", "b-1": "b", "b-2": "b"}


@pytest.mark.parametrize("files, expected", [
    ({"utt2spk": "a-2 a\na-1 a\nb-1 b\nb-2 b\n"}, r"utt2spk:2: key 'a-1': not sorted"),
    ({"spk2utt": "a a-1 a-2\n"}, r"spk2utt: key 'b': speaker of utt2spk is missing"),
    ({"spk2utt": "a a-1\nb a-2 b-1 b-2\n"}, r"spk2utt:1: key 'a': lists a-1 but utt2spk gives a-1 a-2"),
    ({"text": "a-1 x\na-2 x\nc-1 x\nb-1 x\nb-2 x\n"}, r"text:3: key 'c-1': utterance is not in utt2spk"),
    ({"utt2dur": "a-1 1\na-2 1\nb-1 1\nb-2 1\nz-9 1\n"}, r"utt2dur:5: key 'z-9': utterance is not in utt2spk"),
    ({"utt2dur": "a-1 1\na-2 1\nb-1 1\n"}, r"utt2spk:4: key 'b-2': utterance is not in utt2dur"),
    ({"spk2gender": "a m\nb f\nc m\n"}, r"spk2gender:3: key 'c': speaker is not in utt2spk"),
    ({"spk2gender": "a m\n"}, r"spk2gender: key 'b': speaker of utt2spk is missing"),
    ({"text": "a-2 x\na-1 x\nb-1 x\nb-2 x\n"}, r"text:2: key 'a-1': not sorted"),
], ids=["unsorted utt2spk", "spk2utt lacks a speaker", "spk2utt disagrees", "text key not in utt2spk",
        "utt2dur key not in utt2spk", "utt2dur lacks an utterance", "spk2gender extra speaker",
        "spk2gender lacks a speaker", "unsorted text"])
def test_validate_data_dir_is_as_strict_as_kaldi(tmp_path, files, expected):
    d = _dir(tmp_path / "d", UTTS, **files)
    with pytest.raises(DataError, match=expected):
        validate_data_dir(d)


def test_valid_dir_passes(tmp_path):
    d = _dir(tmp_path / "d", UTTS, text="a-1 x\na-2\nb-1 y z\nb-2 w\n", spk2gender="a m\nb f\n",
             utt2dur="a-1 1\na-2 1\nb-1 1\nb-2 1\n")
    validate_data_dir(d)


def test_data_dirs_respect_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        tmp = make_tmp_dir(tmp_path / "out")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o755
        meta = make_tiny_corpus(tmp_path / "c", num_speakers=3, utts=2, num_test=1)
        from embspace.bin.prepare_manifests import main

        main(["--metadata", str(meta), "--corpus", "x", "--manifest-dir", str(tmp_path / "m"), "--kaldi-dir",
              str(tmp_path / "data")])
    finally:
        os.umask(old)
    for d in (tmp_path / "data" / "train", tmp_path / "data" / "test"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o644 for f in d.iterdir())


def _strip(meta, *fields):
    lines = [json.loads(x) for x in meta.read_text().splitlines()]
    meta.write_text("".join(json.dumps({k: v for k, v in e.items() if k not in fields}) + "\n" for e in lines))
    return lines


def test_no_split_no_gender_no_text(tmp_path, capsys):
    from embspace.bin.prepare_manifests import main
    from embspace.data.manifests import draw_speaker_split

    meta = make_tiny_corpus(tmp_path / "c", num_speakers=8, utts=2, num_test=3)
    _strip(meta, "split", "gender", "text")
    main(["--metadata", str(meta), "--corpus", "x", "--manifest-dir", str(tmp_path / "m"), "--kaldi-dir",
          str(tmp_path / "data"), "--test-fraction", "0.25", "--split-seed", "3"])
    err = capsys.readouterr().err
    assert "no 'split'" in err and "2 of 8 speakers" in err
    train = set(read_table(tmp_path / "data" / "train" / "utt2spk").values())
    test = set(read_table(tmp_path / "data" / "test" / "utt2spk").values())
    assert len(test) == 2 and len(train) == 6 and not train & test
    for split in ("train", "test"):
        names = {f.name for f in (tmp_path / "data" / split).iterdir()}
        assert "text" not in names and "spk2gender" not in names and {"wav.scp", "utt2spk", "spk2utt"} <= names
    speakers = [f"spk{i:03d}" for i in range(8)]
    assert set(draw_speaker_split(speakers, 0.25, 3)) == test  # the CLI's draw, reproducible
    draws = {frozenset(draw_speaker_split(speakers, 0.25, seed)) for seed in range(6)}
    assert len(draws) > 1 and all(len(x) == 2 for x in draws)
    assert len(draw_speaker_split(speakers, 0.01, 0)) == 1 and len(draw_speaker_split(speakers, 0.99, 0)) == 7


def test_same_gender_trials_skipped_without_spk2gender(tmp_path, capsys):
    from embspace.bin.make_trials import main

    d = _dir(tmp_path / "d", UTTS)
    (tmp_path / "sg").write_text("stale\n")
    assert main(["--data-dir", str(d), "--out", str(tmp_path / "trials"), "--same-gender-out", str(tmp_path / "sg")]) == 0
    err = capsys.readouterr().err
    assert "skipping same-gender trials" in err and "spk2gender" in err
    assert (tmp_path / "trials").is_file() and not (tmp_path / "sg").exists()


def test_make_trials_without_wav_scp_names_no_option_it_lacks(tmp_path, capsys):
    """The missing-table error of make_trials names the file, and no option make_trials does not have."""
    from embspace.bin.make_trials import main

    d = _dir(tmp_path / "d", UTTS)
    (d / "wav.scp").unlink()
    with pytest.raises(SystemExit) as e:
        main(["--data-dir", str(d), "--out", str(tmp_path / "trials")])
    err = capsys.readouterr().err
    assert e.value.code == 1 and f"{d / 'wav.scp'}: file not found" in err and "--no-wav" not in err
    assert not (tmp_path / "trials").exists()


def test_import_with_segments_and_export_round_trip(tmp_path):
    import numpy as np
    import soundfile as sf

    from embspace.data.kaldi_dir import export_data_dir, import_data_dir

    sf.write(tmp_path / "r1.wav", (0.1 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32), 16000)
    d = _dir(tmp_path / "d", {"a-1": "a", "a-2": "a"}, segments="a-1 r1 0.0 0.8\na-2 r1 1.0 2.0\n",
             text="a-1 hello\na-2 world\n")
    (d / "wav.scp").write_text(f"r1 {tmp_path / 'r1.wav'}\n")
    recs, sups = import_data_dir(d)
    assert list(recs.ids) == ["r1"] and [(s.id, s.start, round(s.duration, 3)) for s in sups] == [("a-1", 0.0, 0.8), ("a-2", 1.0, 1.0)]
    export_data_dir(recs, sups, tmp_path / "out")
    assert read_table(tmp_path / "out" / "segments", rest_as_string=True) == {"a-1": "r1 0.0 0.8", "a-2": "r1 1.0 2.0"}
    assert read_table(tmp_path / "out" / "text") == {"a-1": "hello", "a-2": "world"}
    (d / "segments").write_text("a-1 r1 0.0 0.8\na-2 r1 1.0 2.5\n")
    with pytest.raises(DataError, match=r"segments:2: key 'a-2': segment 1-2.5 s is not inside recording 'r1' \(0-2.000 s\)"):
        import_data_dir(d)


SEG_FILES = {"segments": "a-1 r1 0 1\na-2 r1 1 2.5\nb-1 r2 0 1\nb-2 r2 1.5 2\n", "reco2dur": "r1 3\nr2 2\n",
             "reco2file_and_channel": "r1 r1 A\nr2 r2 A\n"}


def _seg_dir(d, **extra: str):
    """A valid segmented data dir (recordings r1, r2) plus extra files given verbatim."""
    d = _dir(d, UTTS, **{**SEG_FILES, **extra})
    if "wav.scp" not in extra:
        (d / "wav.scp").write_text("r1 /x/r1.wav\nr2 /x/r2.wav\n")
    return d


@pytest.mark.parametrize("files, expected", [
    ({"segments": "a-1 r1 0 1\na-2 r1 1 1\nb-1 r2 0 1\nb-2 r2 1.5 2\n"},
     r"segments:2: key 'a-2': segment must have 0 <= start < end, got start 1 end 1"),
    ({"segments": "a-1 r1 0 1\na-2 r1 2 1.5\nb-1 r2 0 1\nb-2 r2 1.5 2\n"}, r"segments:2: key 'a-2': .*start 2 end 1.5"),
    ({"segments": "a-1 r1 0 1\na-2 r1 1 -1\nb-1 r2 0 1\nb-2 r2 1.5 2\n"}, r"segments:2: key 'a-2': .*start 1 end -1"),
    ({"segments": "a-1 r1 -0.5 1\na-2 r1 1 2.5\nb-1 r2 0 1\nb-2 r2 1.5 2\n"}, r"segments:1: key 'a-1': .*start -0.5"),
    ({"wav.scp": "r1 /x/r1.wav\nr2 /x/r2.wav\nr3 /x/r3.wav\n"}, r"wav.scp:3: key 'r3': recording has no segment"),
    ({"reco2file_and_channel": "r1 r1 A\nr2 r2 C\n"}, r"reco2file_and_channel:2: key 'r2': expected '<reco> <file> A\|B'"),
    ({"reco2dur": "r1 3\nr2 0\n"}, r"reco2dur:2: key 'r2': duration must be a number > 0, got '0'"),
    ({"reco2dur": "r1 3\n"}, r"reco2dur: key 'r2': recording of wav.scp/segments is missing"),
], ids=["end == start", "end < start", "end -1", "start < 0", "recording without segment", "channel C",
        "reco2dur 0", "reco2dur lacks a recording"])
def test_validate_segmented_dir_as_kaldi(tmp_path, files, expected):
    d = _seg_dir(tmp_path / "d", **files)
    with pytest.raises(DataError, match=expected):
        validate_data_dir(d)


def test_valid_segmented_dir_passes(tmp_path):
    validate_data_dir(_seg_dir(tmp_path / "d"))


@pytest.mark.parametrize("files, expected", [
    ({"utt2dur": "a-1 1\na-2 abc\nb-1 1\nb-2 1\n"}, r"utt2dur:2: key 'a-2': duration must be a number > 0, got 'abc'"),
    ({"utt2dur": "a-1 1\na-2 -3\nb-1 1\nb-2 1\n"}, r"utt2dur:2: key 'a-2': duration must be a number > 0, got '-3'"),
    ({"utt2dur": "a-1 1\na-2 nan\nb-1 1\nb-2 1\n"}, r"utt2dur:2: key 'a-2': duration must be a number > 0"),
    ({"utt2num_frames": "a-1 10\na-2 1.5\nb-1 10\nb-2 10\n"}, r"utt2num_frames:2: key 'a-2': frame count must be a positive integer"),
    ({"utt2spk": "\ufeffa-1 a\na-2 a\nb-1 b\nb-2 b\n"}, r"utt2spk:1: starts with a UTF-8 byte-order mark"),
    ({"text": "a-1 x\r\na-2 x\r\nb-1 x\r\nb-2 x\r\n"}, r"text:1: line ends in CR"),
    ({"text": "a-1 x\na-2 x\n\nb-1 x\nb-2 x\n"}, r"text:3: empty line"),
    ({"text": "a-1 x\na-2 x\nb-1 x\nb-2 x"}, r"text:4: the last line has no newline"),
    ({"utt2spk": "a-1 b\na-2 a\nb-1 b\nb-2 b\n", "spk2utt": "a a-2\nb a-1 b-1 b-2\n"},
     r"utt2spk:2: key 'a-2': speaker 'a' sorts before 'b' of the line above"),
    ({"spk2utt": "a a-2 a-1\nb b-1 b-2\n"}, r"spk2utt:1: key 'a': lists a-2 a-1 but utt2spk gives a-1 a-2"),
    ({"text": "a-1 x\na-2 <s> y\nb-1 x\nb-2 x\n"}, r"text:2: key 'a-2': transcript contains the reserved symbol <s>"),
    ({"text": "a-1 x\na-2 y\u00a0z\nb-1 x\nb-2 x\n"}, r"text:2: key 'a-2': transcript contains the whitespace character U\+00A0"),
    ({"text": "a-1 x\na-2 y\x07\nb-1 x\nb-2 x\n"}, r"text:2: key 'a-2': transcript contains the non-printable character U\+0007"),
    ({"wav.scp": "a-1 ~/a.wav\na-2 /x\nb-1 /x\nb-2 /x\n"}, r"wav.scp:1: key 'a-1': do not use ~ in wav.scp"),
    ({"spk2gender": "a m\nb x\n"}, r"spk2gender:2: key 'b': gender must be m or f, got 'x'"),
    ({"cmvn.scp": "a c.ark:3\n"}, r"cmvn.scp: key 'b': speaker of utt2spk is missing"),
    ({"spk2warp": "a 1.0\nb 2.0\n"}, r"spk2warp:2: key 'b': warp factor must be between 0.5 and 1.5"),
], ids=["utt2dur abc", "utt2dur negative", "utt2dur nan", "utt2num_frames not integer", "bom", "crlf", "blank line",
        "no final newline", "utt2spk not sorted by speaker", "spk2utt order", "reserved symbol", "nbsp", "control char",
        "tilde", "gender x", "cmvn.scp lacks a speaker", "warp factor"])
def test_validate_rejects_what_kaldi_rejects(tmp_path, files, expected):
    d = _dir(tmp_path / "d", UTTS, **files)
    with pytest.raises(DataError, match=expected):
        validate_data_dir(d)


def test_empty_data_dir_is_an_error_for_validate_and_import(tmp_path):
    from embspace.data.kaldi_dir import import_data_dir
    from tests.test_kaldi_utils import run_script

    d = tmp_path / "d"
    d.mkdir()
    for name in ("utt2spk", "spk2utt", "wav.scp"):
        (d / name).write_text("")
    with pytest.raises(DataError, match=r"utt2spk: no utterances \(empty file\)"):
        import_data_dir(d)
    proc = run_script("validate_data_dir.py", d)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == f"validate_data_dir: error: {d / 'utt2spk'}: no utterances (empty file)\n"


def test_validate_script_options(tmp_path):
    from tests.test_kaldi_utils import run_script

    d = _dir(tmp_path / "d", UTTS)
    (d / "wav.scp").unlink()
    assert "use --no-wav" in run_script("validate_data_dir.py", d).stderr
    assert run_script("validate_data_dir.py", "--no-wav", "--no-text", "--no-feats", d).returncode == 0
    proc = run_script("validate_data_dir.py", "--no-wav", "--require-text", d)
    assert proc.returncode == 1 and "text: file not found (if this is by design, use --no-text)" in proc.stderr
    (d / "text").write_text("a-1 x\na-2 y\x07\nb-1 x\nb-2 x\n")
    assert run_script("validate_data_dir.py", "--no-wav", d).returncode == 1
    assert run_script("validate_data_dir.py", "--no-wav", "--non-print", d).returncode == 0
    one = _dir(tmp_path / "one", {"a-1": "a"})
    proc = run_script("validate_data_dir.py", one)
    assert proc.returncode == 0 and f"validate_data_dir: warning: {one}: only one speaker" in proc.stderr


def test_fix_data_dir_repairs_bom_and_crlf(tmp_path):
    from embspace.data.kaldi_utils import fix_data_dir

    d = _dir(tmp_path / "d", UTTS, text="\ufeffa-1 x\r\na-2 y\r\nb-1 z\r\nb-2 w\r\n")
    with pytest.raises(DataError, match="byte-order mark"):
        validate_data_dir(d)
    assert fix_data_dir(d).changed == ["text"]
    assert (d / "text").read_bytes() == b"a-1 x\na-2 y\nb-1 z\nb-2 w\n"
    validate_data_dir(d)
