"""Audio checks at every entry point: one parallel scanner, every bad file reported at once."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet, RecordingSet, SupervisionSet

from embspace.data.audio_check import AudioItem, AudioPolicy, probe_audio, scan_audio
from embspace.data.kaldi_dir import import_data_dir
from embspace.data.noise_corpora import prepare_musan_manifests, prepare_rir_manifests
from embspace.data.tables import read_table
from embspace.data.voxceleb import prepare_voxceleb
from embspace.utils.errors import DataError
from tests.conftest import make_tiny_corpus, run_cli

SR = 16000


def _tone(seconds: float = 0.5, sr: int = SR, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (0.1 * rng.standard_normal((int(seconds * sr), channels))).astype(np.float32)
    if channels == 1:
        return x[:, 0]
    x[:, 1:] *= 0.01  # channel 0 loud, the others quiet: a chosen channel can be told apart
    return x


def _wav(path: Path, data: np.ndarray | None = None, sr: int = SR, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, _tone() if data is None else data, sr, format=fmt)
    return path


def _truncate(path: Path, keep: float = 0.5) -> Path:
    b = path.read_bytes()
    path.write_bytes(b[:int(len(b) * keep)])
    return path


def _bad_files(d: Path) -> dict[str, tuple[Path, str]]:
    """{key: (file, expected cause)} — one of each defect."""
    bad = {
        "missing": (d / "missing.wav", "not found"),
        "empty": (d / "empty.wav", "empty (0 bytes)"),
        "noframes": (_wav(d / "noframes.wav", np.zeros(0, dtype=np.float32)), "no audio samples"),
        "corrupt": (d / "corrupt.wav", "cannot read audio"),
        "truncwav": (_truncate(_wav(d / "truncwav.wav")), "truncated"),
        "truncflac": (_truncate(_wav(d / "truncflac.flac", _tone(2.0))), "truncated"),
        "rate": (_wav(d / "rate.wav", _tone(sr=8000), sr=8000), "8000 Hz, expected 16000 Hz"),
        "stereo": (_wav(d / "stereo.wav", _tone(channels=2)), "2 channels"),
    }
    (d / "empty.wav").write_bytes(b"")
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    return bad


def test_probe_sees_truncation_that_soundfile_hides(tmp_path):
    whole = _wav(tmp_path / "a.wav")
    assert probe_audio(str(whole)).num_samples == 8000
    cut = _truncate(_wav(tmp_path / "b.wav"))
    assert sf.info(str(cut)).frames < 8000  # libsndfile silently reports a shorter file
    with pytest.raises(Exception, match=r"truncated: the header announces 8000 samples, the file holds 39\d\d"):
        probe_audio(str(cut))
    streamed = tmp_path / "streamed.wav"  # written to a pipe: the data size is a placeholder, not a promise
    b = bytearray(whole.read_bytes())
    data = b.index(b"data")
    b[data + 4:data + 8] = (0xFFFFFFFF).to_bytes(4, "little")
    streamed.write_bytes(bytes(b))
    assert probe_audio(str(streamed)).num_samples == 8000


def test_scan_reports_every_bad_file_with_its_cause(tmp_path):
    bad = _bad_files(tmp_path)
    good = [AudioItem(f"good{i}", str(_wav(tmp_path / f"good{i}.wav"))) for i in range(5)]
    items = good + [AudioItem(k, str(p), line=i + 1) for i, (k, (p, _)) in enumerate(bad.items())]
    with pytest.raises(DataError) as e:
        scan_audio(items, AudioPolicy(), num_jobs=2, listing=tmp_path / "list")
    msg = str(e.value)
    assert f"{len(bad)} of {len(items)} audio files" in msg
    for key, (_, cause) in bad.items():
        line = next(x for x in msg.splitlines() if f"key '{key}'" in x)
        assert cause in line, (key, line)
    assert "good" not in msg
    # more than ten: the count is complete, ten are listed
    many = [AudioItem(f"m{i:02d}", str(tmp_path / f"nothere{i}.wav")) for i in range(75)]
    with pytest.raises(DataError) as e:
        scan_audio(good + many, AudioPolicy(), num_jobs=2)
    assert "75 of 80 audio files" in str(e.value) and str(e.value).count("not found") == 10


def test_policy_resample_and_channel(tmp_path):
    stereo8k = _wav(tmp_path / "s.wav", _tone(sr=8000, channels=2), sr=8000)
    item = [AudioItem("s", str(stereo8k))]
    with pytest.raises(DataError, match=r"8000 Hz.*--resample.*|2 channels.*--channel"):
        scan_audio(item, AudioPolicy())
    with pytest.raises(DataError, match=r"2 channels.*--channel"):
        scan_audio(item, AudioPolicy(resample=True))
    with pytest.raises(DataError, match=r"no channel 2"):
        scan_audio(item, AudioPolicy(resample=True, channel=2))
    info = scan_audio(item, AudioPolicy(resample=True, channel=1))["s"]
    assert (info.sampling_rate, info.num_channels, info.num_samples) == (8000, 2, 4000)


def _prepare(*args) -> None:
    from embspace.bin.prepare_manifests import main

    main([str(a) for a in args])


def test_prepare_manifests_reports_all_bad_files_and_writes_nothing(tmp_path, capsys):
    meta = make_tiny_corpus(tmp_path / "c", num_speakers=3, utts=3, num_test=1)
    entries = [json.loads(x) for x in meta.read_text().splitlines()]
    root = tmp_path / "c"
    _truncate(root / entries[0]["path"])
    _wav(root / entries[2]["path"], _tone(channels=2))
    _wav(root / entries[4]["path"], _tone(sr=8000), sr=8000)
    out = tmp_path / "m"
    with pytest.raises(SystemExit) as e:
        _prepare("--metadata", meta, "--corpus", "x", "--manifest-dir", out, "--kaldi-dir", tmp_path / "data")
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("prepare_manifests: error: ") and "3 of 9 audio files" in err
    for i, cause in ((0, "truncated"), (2, "2 channels"), (4, "8000 Hz")):
        assert any(entries[i]["utt"] in line and cause in line for line in err.splitlines()), (i, err)
    assert not out.exists() and not (tmp_path / "data").exists()


def test_prepare_manifests_resample_and_channel(tmp_path):
    meta = make_tiny_corpus(tmp_path / "c", num_speakers=3, utts=2, num_test=1)
    entries = [json.loads(x) for x in meta.read_text().splitlines()]
    stereo = _tone(1.0, sr=8000, channels=2)
    stereo = stereo[:, ::-1].copy()  # the loud channel is now channel 1
    _wav(tmp_path / "c" / entries[0]["path"], stereo, sr=8000)
    out = tmp_path / "m"
    _prepare("--metadata", meta, "--corpus", "x", "--manifest-dir", out, "--kaldi-dir", tmp_path / "data",
             "--resample", "--channel", "1")
    recs = RecordingSet.from_file(out / "x_recordings_train.jsonl.gz").to_eager()
    sups = SupervisionSet.from_file(out / "x_supervisions_train.jsonl.gz").to_eager()
    cuts = CutSet.from_manifests(recordings=recs, supervisions=sups).trim_to_supervisions(keep_overlapping=False)
    cut = next(c for c in cuts if c.id == entries[0]["utt"])
    audio = cut.load_audio()
    assert cut.sampling_rate == SR and audio.shape == (1, SR)
    assert np.abs(audio).mean() > 0.05  # the loud channel, not the quiet one
    wav_scp = read_table(tmp_path / "data" / "train" / "wav.scp", rest_as_string=True)
    assert "remix 2" in wav_scp[entries[0]["utt"]] and "-r 16000" in wav_scp[entries[0]["utt"]]
    assert not any(x.endswith("|") for k, x in wav_scp.items() if k != entries[0]["utt"])


def _kaldi_dir(d: Path, wavs: dict[str, str], bom: bool = False) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{k} {v}\n" for k, v in sorted(wavs.items()))
    (d / "wav.scp").write_text(("\ufeff" if bom else "") + lines, encoding="utf-8")
    (d / "utt2spk").write_text(("\ufeff" if bom else "") + "".join(f"{k} {k.split('-')[0]}\n" for k in sorted(wavs)))
    spk2utt: dict[str, list[str]] = {}
    for k in sorted(wavs):
        spk2utt.setdefault(k.split("-")[0], []).append(k)
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    return d


def test_kaldi_import_checks_audio_pipes_and_bom(tmp_path):
    a = _wav(tmp_path / "a.wav", _tone(1.0))
    b = _wav(tmp_path / "b.wav", _tone(0.5))
    cat = f"cat {shlex.quote(str(b))} |"
    d = _kaldi_dir(tmp_path / "ok", {"s1-a": str(a), "s1-b": cat}, bom=True)
    recs, sups = import_data_dir(d, SR)
    assert sorted(recs.ids) == ["s1-a", "s1-b"]  # the byte-order mark is not part of the first key
    assert recs["s1-b"].num_samples == 8000 and recs["s1-b"].sources[0].type == "command"
    assert {s.speaker for s in sups} == {"s1"}
    stereo8k = _wav(tmp_path / "st.wav", _tone(sr=8000, channels=2), sr=8000)
    trunc = _truncate(_wav(tmp_path / "t.wav"))
    py = shlex.quote(sys.executable)
    bad = _kaldi_dir(tmp_path / "bad", {
        "s1-a": str(a), "s2-st": str(stereo8k), "s2-t": str(trunc),
        "s3-fail": "false |", "s3-pipetrunc": f"head -c 3000 {shlex.quote(str(a))} |",
        "s3-text": f"{py} -c 'print(1)' |",
    })
    with pytest.raises(DataError) as e:
        import_data_dir(bad, SR)
    msg = str(e.value)
    assert "5 of 6 audio files" in msg and "wav.scp" in msg
    for key, cause in (("s2-st", "8000 Hz"), ("s2-t", "truncated"), ("s3-fail", "command failed"),
                       ("s3-pipetrunc", "truncated"), ("s3-text", "cannot read audio")):
        assert any(f"key '{key}'" in line and cause in line for line in msg.splitlines()), (key, msg)
    proc = run_cli("import_data_dir", "--data-dir", bad, "--corpus", "b", "--split", "x", "--manifest-dir",
                   tmp_path / "m", check=False)
    assert proc.returncode == 1 and "5 of 6 audio files" in proc.stderr and not (tmp_path / "m").exists()


def test_voxceleb_scan_reports_all_bad_files_and_real_causes(tmp_path):
    vox1 = tmp_path / "vox1"
    for u in range(1, 4):
        _wav(vox1 / "wav" / "id10001" / "yt1" / f"{u:05d}.wav")
    _truncate(vox1 / "wav" / "id10001" / "yt1" / "00002.wav")
    _wav(vox1 / "wav" / "id10001" / "yt1" / "00003.wav", _tone(sr=8000), sr=8000)
    (vox1 / "vox1_meta.csv").write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\nid10001\tA\tm\tX\tdev\n")
    with pytest.raises(DataError) as e:
        prepare_voxceleb(vox1)
    msg = str(e.value)
    assert "2 of 3 audio files" in msg and "truncated" in msg and "8000 Hz" in msg
    vox2 = tmp_path / "vox2" / "dev" / "aac" / "id00099" / "abc"
    vox2.mkdir(parents=True)
    (vox2 / "00001.m4a").write_bytes(b"")
    with pytest.raises(DataError) as e:
        prepare_voxceleb(voxceleb2_root=tmp_path / "vox2")
    assert "empty (0 bytes)" in str(e.value) and "ffmpeg" not in str(e.value)


def _musan(root: Path, annotations: bool) -> Path:
    for part in ("music", "speech", "noise"):
        for i in range(2):
            _wav(root / part / "src" / f"{part}-src-{i:04d}.wav", _tone(0.3, seed=i))
        if annotations:
            (root / part / "src" / "ANNOTATIONS").write_text(
                "".join(f"{part}-src-{i:04d} Jazz N Someone\n" for i in range(2)))
    return root


def test_musan_without_annotations_and_rirs_without_point_noises(tmp_path):
    musan = _musan(tmp_path / "musan", annotations=False)
    written = prepare_musan_manifests(musan, tmp_path / "m")
    assert len(RecordingSet.from_file(written["recordings_all"])) == 6
    assert "supervisions_music" not in written
    rirs = tmp_path / "RIRS_NOISES"
    for room in ("small", "medium", "large"):
        _wav(rirs / "simulated_rirs" / f"{room}room" / "Room001" / "Room001-00001.wav", _tone(0.2))
    written = prepare_rir_manifests(rirs, tmp_path / "m")
    assert set(written) == {"sim_rir"} and len(RecordingSet.from_file(written["sim_rir"])) == 3


def test_noise_corpora_report_bad_files(tmp_path):
    musan = _musan(tmp_path / "musan", annotations=True)
    _truncate(musan / "noise" / "src" / "noise-src-0001.wav")
    _wav(musan / "speech" / "src" / "speech-src-0000.wav", _tone(sr=8000), sr=8000)
    with pytest.raises(DataError) as e:
        prepare_musan_manifests(musan, tmp_path / "m")
    assert "2 of 6 audio files" in str(e.value) and not (tmp_path / "m").exists()


@pytest.mark.parametrize("fmt,subtype", [("WAV", "FLOAT"), ("WAV", "DOUBLE"), ("FLAC", None)])
def test_float_samples_are_scanned_for_nan_and_inf(tmp_path, fmt, subtype):
    x = _tone(1.0)
    good = tmp_path / f"good.{fmt.lower()}"
    sf.write(good, x, SR, format=fmt, subtype=subtype)
    assert probe_audio(str(good)).num_samples == SR
    if fmt == "FLAC":  # integer samples: NaN cannot be stored, nothing to scan
        return
    x[12345] = np.nan
    x[15000] = np.inf
    bad = tmp_path / "bad.wav"
    sf.write(bad, x, SR, subtype=subtype)
    with pytest.raises(Exception, match=r"NaN or infinite samples in .* the first \(NaN\) at sample 12345 \(0\.772 s\)"):
        probe_audio(str(bad))


def test_kaldi_import_rejects_nan_wav_naming_key_and_writes_the_complete_bad_list(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    rows = []
    for i in range(13):
        x = _tone(0.3, seed=i)
        if i % 4 != 1:  # 10 of the 13 hold a NaN or an inf
            x[7] = np.nan if i % 2 else np.inf
        sf.write(tmp_path / f"r{i:02d}.wav", x, SR, subtype="FLOAT")
        rows.append(f"r{i:02d} {tmp_path / f'r{i:02d}.wav'}")
    (d / "wav.scp").write_text("\n".join(rows) + "\n")
    (d / "utt2spk").write_text("".join(f"r{i:02d} r\n" for i in range(13)))
    (d / "spk2utt").write_text("r " + " ".join(f"r{i:02d}" for i in range(13)) + "\n")
    listing = tmp_path / "bad.txt"
    p = run_cli("import_data_dir", "--data-dir", d, "--corpus", "c", "--split", "train", "--manifest-dir",
                tmp_path / "m", "--bad-list", listing, check=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "10 of 13 audio files failed" in p.stderr and f"all of them are listed in {listing}" in p.stderr
    assert "key 'r00'" in p.stderr and "the first (infinite) at sample 7" in p.stderr
    lines = listing.read_text().splitlines()
    assert len(lines) == 10 and all("\t" in x for x in lines) and "key 'r12'" in lines[-1]
    assert not (tmp_path / "m").exists()
