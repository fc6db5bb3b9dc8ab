"""Manifests, Kaldi data dirs and their bad-input errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from embspace.features.fbank import load_feature_cuts
from embspace.data.kaldi_dir import import_data_dir, validate_data_dir
from embspace.data.tables import read_table, read_trials
from embspace.utils.errors import DataError
from tests.conftest import make_tiny_corpus, run_cli


def test_manifests_and_kaldi_dirs(tiny_data):
    data = tiny_data["data"]
    for split, n_spk in (("train", 5), ("test", 3)):
        utt2spk = read_table(data / split / "utt2spk")
        assert len(set(utt2spk.values())) == n_spk and len(utt2spk) == n_spk * 6
        assert set(read_table(data / split / "spk2gender").values()) <= {"m", "f"}
        validate_data_dir(data / split)
    train_spk = set(read_table(data / "train" / "utt2spk").values())
    test_spk = set(read_table(data / "test" / "utt2spk").values())
    assert not train_spk & test_spk
    cuts = load_feature_cuts(tiny_data["train_cuts"])
    cut = next(iter(cuts))
    assert cut.has_features and cut.load_features().shape[1] == 40
    assert cut.supervisions[0].custom["session"] == "s1"


def test_kaldi_round_trip(tiny_data):
    recs, sups = import_data_dir(tiny_data["data"] / "test", sampling_rate=16000)
    assert len(recs) == 18 and {s.speaker for s in sups} == set(read_table(tiny_data["data"] / "test" / "utt2spk").values())
    assert {s.gender for s in sups} <= {"m", "f"}


def _copy_dir(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_utt2spk_entry_missing_from_wav_scp(tiny_data, tmp_path):
    d = _copy_dir(tiny_data["data"] / "test", tmp_path / "d")
    (d / "utt2spk").write_text((d / "utt2spk").read_text() + "ghost-utt spk999\n")
    with pytest.raises(DataError, match=r"utt2spk.*ghost-utt.*not in wav.scp"):
        validate_data_dir(d)


def test_duplicate_key_names_line(tiny_data, tmp_path):
    d = _copy_dir(tiny_data["data"] / "test", tmp_path / "d")
    first = (d / "wav.scp").read_text().splitlines()[0]
    (d / "wav.scp").write_text((d / "wav.scp").read_text() + first + "\n")
    with pytest.raises(DataError, match=r"wav.scp:19: key '.*': duplicate key \(first seen on line 1\)"):
        validate_data_dir(d)


@pytest.mark.parametrize("problem", ["empty", "corrupt", "rate", "duplicate"])
def test_bad_audio_is_named_and_nothing_is_written(tmp_path, problem):
    meta = make_tiny_corpus(tmp_path / "c", num_speakers=3, utts=2, num_test=1)
    entries = [json.loads(x) for x in meta.read_text().splitlines()]
    victim = tmp_path / "c" / entries[1]["path"]
    if problem == "empty":
        sf.write(victim, np.zeros(0, dtype=np.float32), 16000)
    elif problem == "corrupt":
        victim.write_bytes(b"RIFF\x00\x00garbage")
    elif problem == "rate":
        sf.write(victim, np.zeros(800, dtype=np.float32), 8000)
    else:
        meta.write_text(meta.read_text() + json.dumps(entries[1]) + "\n")
    out = tmp_path / "manifests"
    proc = run_cli("prepare_manifests", "--metadata", meta, "--corpus", "x", "--manifest-dir", out, check=False)
    assert proc.returncode == 1
    expected = {"empty": "empty", "corrupt": "cannot read audio", "rate": "8000 Hz", "duplicate": "duplicate utterance id"}[problem]
    assert expected in proc.stderr and entries[1]["utt"] in proc.stderr
    assert not out.exists()


def test_trials_all_pairs_and_same_gender(tiny_data, tmp_path):
    run_cli("make_trials", "--data-dir", tiny_data["data"] / "test", "--out", tmp_path / "trials",
            "--same-gender-out", tmp_path / "sg")
    trials = read_trials(tmp_path / "trials")
    assert len(trials) == 18 * 17 // 2
    assert sum(t for _, _, t in trials) == 3 * (6 * 5 // 2)
    sg = read_trials(tmp_path / "sg")
    assert sum(t for _, _, t in sg) == 45 and len(sg) <= len(trials)


def test_import_data_dir_cli_and_its_errors(tiny_data, tmp_path):
    run_cli("import_data_dir", "--data-dir", tiny_data["data"] / "train", "--corpus", "again", "--split", "train",
            "--manifest-dir", tmp_path / "m")
    from lhotse import SupervisionSet
    sups = SupervisionSet.from_file(tmp_path / "m" / "again_supervisions_train.jsonl.gz")
    assert len(sups) == 30 and {s.gender for s in sups} <= {"m", "f"}
    d = _copy_dir(tiny_data["data"] / "train", tmp_path / "bad")
    (d / "utt2spk").write_text((d / "utt2spk").read_text() + "nowhere-utt spk000\n")
    proc = run_cli("import_data_dir", "--data-dir", d, "--corpus", "bad", "--split", "train", "--manifest-dir", tmp_path / "m2", check=False)
    assert proc.returncode == 1 and "utt2spk" in proc.stderr and "nowhere-utt" in proc.stderr
    assert proc.stderr.startswith("import_data_dir: error:")
    assert not (tmp_path / "m2").exists()
