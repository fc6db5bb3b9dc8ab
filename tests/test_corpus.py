"""The espeak-ng synthesiser and the synthetic "mini" corpus (design, rendering, CLI)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from embspace.bin import make_mini_corpus
from embspace.corpus.espeak import get_synth, list_variants, resample_poly
from embspace.corpus.mini import (EXCLUDED_VARIANTS, VARIANT_GENDER, MiniConfig, plan_corpus, plan_speakers,
                                  render_utterance)
from embspace.corpus.sentences import ENGLISH, GERMAN
from embspace.utils.errors import DataError

TEXT = "The old barn leaned toward the river after the storm."
TINY = ["--num-speakers", "6", "--num-test-speakers", "2", "--utts-per-speaker", "3", "--seed", "3"]


def test_synth_is_16k_float32_speech():
    x = get_synth().synth(TEXT, "en+m3")
    assert x.dtype == np.float32 and x.ndim == 1
    assert 1.5 < len(x) / 16000 < 4.5
    assert 0.02 < float(np.sqrt(np.mean(x ** 2))) and np.abs(x).max() <= 1.0


def test_synth_is_deterministic_whatever_came_before():
    synth = get_synth()
    a = synth.synth(TEXT, "en-us+f2", rate=150, pitch=40, seed=7)
    synth.synth("Something else entirely, said first.", "en+grandma", seed=1)
    b = synth.synth(TEXT, "en-us+f2", rate=150, pitch=40, seed=7)
    assert a.tobytes() == b.tobytes()
    c = synth.synth(TEXT, "en-us+f2", rate=150, pitch=60, seed=7)
    assert c.tobytes() != a.tobytes()


def test_unknown_voice_is_a_data_error():
    with pytest.raises(DataError, match="unknown espeak-ng voice"):
        get_synth().synth(TEXT, "xx-nope+m3")


def test_resampler_passes_speech_band_and_stops_aliases():
    t = np.arange(22050) / 22050
    y = resample_poly(np.sin(2 * np.pi * 1000 * t), 320, 441)
    ref = np.sin(2 * np.pi * 1000 * np.arange(len(y)) / 16000)
    assert len(y) == 16000 and np.abs(y[300:-300] - ref[300:-300]).max() < 0.01
    alias = resample_poly(np.sin(2 * np.pi * 9500 * t), 320, 441)
    assert np.sqrt(np.mean(alias[300:-300] ** 2)) < 1e-3


def test_variant_map_covers_the_espeak_variants():
    assert set(VARIANT_GENDER) | set(EXCLUDED_VARIANTS) == set(list_variants())
    assert not set(VARIANT_GENDER) & set(EXCLUDED_VARIANTS)
    assert set(VARIANT_GENDER.values()) == {"m", "f"}
    assert len(ENGLISH) >= 150 and len(GERMAN) >= 40 and len(set(ENGLISH)) == len(ENGLISH)


def test_plan_is_seeded_balanced_and_disjoint():
    cfg = MiniConfig(num_speakers=120, num_test_speakers=40, utts_per_speaker=4)
    spk, utts = plan_corpus(cfg)
    assert [dataclasses.asdict(s) for s in spk] == [dataclasses.asdict(s) for s in plan_speakers(cfg)]
    other = plan_speakers(dataclasses.replace(cfg, seed=2))
    assert [s.variant for s in spk] != [s.variant for s in other]
    for split, n in (("train", 80), ("test", 40)):
        genders = [s.gender for s in spk if s.split == split]
        assert len(genders) == n and genders.count("m") == genders.count("f")
    assert all(VARIANT_GENDER[s.variant] == s.gender for s in spk)
    assert len({s.speaker for s in spk}) == 120 and len({u.utt for u in utts}) == 480
    assert all(u.utt.startswith(u.speaker + "-") for u in utts)
    # no two speakers share all their voice parameters
    keys = {(s.variant, s.accent, s.pitch, s.rate, s.tilt_db_per_octave, s.peak_hz) for s in spk}
    assert len(keys) == 120
    assert len({s.variant for s in plan_speakers(dataclasses.replace(cfg, max_variants=6))}) == 6
    with pytest.raises(DataError, match="num_test_speakers"):
        plan_speakers(MiniConfig(num_speakers=4, num_test_speakers=4))


def test_speakers_sharing_a_variant_still_sound_different():
    cfg = MiniConfig(num_speakers=4, num_test_speakers=0, utts_per_speaker=1, max_variants=2)
    spk, utts = plan_corpus(cfg)
    a, b = spk[0], spk[2]  # both male, same variant
    assert a.variant == b.variant and dataclasses.asdict(a) != dataclasses.asdict(b)
    u = dataclasses.replace(utts[0], snr=40.0)
    ya, yb = render_utterance(u, a), render_utterance(dataclasses.replace(u, speaker=b.speaker), b)
    assert ya.dtype == np.float32 and np.abs(ya).max() < 1.0
    assert len(ya) != len(yb) or not np.allclose(ya, yb)
    assert render_utterance(u, a).tobytes() == ya.tobytes()


def _meta(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]


def test_cli_tiny_corpus_and_resume(tmp_path):
    out = tmp_path / "mini"
    assert make_mini_corpus.main(["--out-dir", str(out), *TINY]) == 0
    meta = _meta(out)
    assert len(meta) == 18
    fields = {"utt", "speaker", "gender", "language", "text", "session", "noise", "snr", "style", "path",
              "split", "duration"}
    assert all(fields <= set(m) for m in meta)
    train = {m["speaker"] for m in meta if m["split"] == "train"}
    test = {m["speaker"] for m in meta if m["split"] == "test"}
    assert len(train) == 4 and len(test) == 2 and not train & test
    assert {m["gender"] for m in meta if m["split"] == "test"} == {"m", "f"}
    for m in meta:
        assert m["utt"].startswith(m["speaker"] + "-") and m["style"] == "neutral" and m["language"] == "en"
        info = sf.info(str(out / m["path"]))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert abs(info.frames / 16000 - m["duration"]) < 1e-3 and 1.2 < m["duration"] < 5.0
    speakers = [json.loads(line) for line in (out / "speakers.jsonl").read_text().splitlines()]
    assert len(speakers) == 6 and all(len(s["sessions"]) >= 2 for s in speakers)

    wavs = sorted(out.glob("wav/*/*.wav"))
    mtimes = {p: p.stat().st_mtime_ns for p in wavs}
    (out / "metadata.jsonl").unlink()
    assert make_mini_corpus.main(["--out-dir", str(out), *TINY]) == 0
    assert {p: p.stat().st_mtime_ns for p in wavs} == mtimes
    assert _meta(out) == meta
    assert not list(out.rglob(".tmp*"))

    with pytest.raises(SystemExit):  # another design into the same folder is refused
        make_mini_corpus.main(["--out-dir", str(out), *TINY[:-1], "4"])


def test_cli_output_does_not_depend_on_worker_count(tmp_path):
    args = ["--num-speakers", "4", "--num-test-speakers", "2", "--utts-per-speaker", "2",
            "--second-language-fraction", "0.5"]
    make_mini_corpus.main(["--out-dir", str(tmp_path / "a"), *args, "--nj", "1"])
    make_mini_corpus.main(["--out-dir", str(tmp_path / "b"), *args, "--nj", "2"])
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert a == b and len(a) == 8 + 3
    assert {m["language"] for m in _meta(tmp_path / "a")} <= {"en", "de"}


def test_read_base_corpus_checks_the_design_against_its_speakers(tmp_path):
    import dataclasses
    import json

    from embspace.corpus.base_corpus import read_base_corpus
    from embspace.corpus.mini import MiniConfig, plan_speakers
    from embspace.utils.errors import DataError

    cfg = MiniConfig(num_speakers=6, num_test_speakers=2, utts_per_speaker=2)
    rows = [dataclasses.asdict(s) for s in plan_speakers(cfg)]
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_json()))
    spk = tmp_path / "speakers.jsonl"
    spk.write_text("".join(json.dumps(r) + "\n" for r in rows))
    design, back, speakers = read_base_corpus(tmp_path)
    assert back == cfg and [dataclasses.asdict(s) for s in speakers] == rows and design == cfg.to_json()

    changed = dict(rows[1], pitch_range=rows[1]["pitch_range"] + 1)
    spk.write_text("".join(json.dumps(r) + "\n" for r in [rows[0], changed] + rows[2:]))
    with pytest.raises(DataError, match=rf"speakers.jsonl:2: key '{rows[1]['speaker']}': speaker differs"):
        read_base_corpus(tmp_path)
    spk.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    with pytest.raises(DataError, match="5 speakers, the design of config.json plans 6"):
        read_base_corpus(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(cfg.to_json(), colour=1)))
    with pytest.raises(DataError, match=r"config.json: key 'colour': unknown corpus design field"):
        read_base_corpus(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(DataError, match="config.json: base corpus file not found"):
        read_base_corpus(tmp_path)
