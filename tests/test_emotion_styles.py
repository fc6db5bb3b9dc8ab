"""Emotional speaking styles of the mini corpus: the plan, SSML and voice variants, the rendering,
and the make_emotion_corpus CLI (deterministic, base corpus untouched, resumable, design checked)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from embspace.bin import make_emotion_corpus, make_mini_corpus
from embspace.corpus.mini import MiniConfig, active_power, plan_speakers, render_utterance
from embspace.corpus.styles import (MAX_VARIANTS_PER_FOLDER, PROFILES, EspeakDataDirs, StyleConfig, build_espeak_data,
                                    plan_speaker_styles, plan_styled_utterances, render_styled, ssml_markup,
                                    variant_lines)
from embspace.utils.errors import DataError

CFG = MiniConfig(num_speakers=6, num_test_speakers=2, utts_per_speaker=3, seed=3)


def test_plan_is_deterministic_and_speaker_specific():
    speakers = plan_speakers(CFG)
    a = plan_speaker_styles(speakers, 3, StyleConfig())
    assert a == plan_speaker_styles(speakers, 3, StyleConfig())
    assert a != plan_speaker_styles(speakers, 3, StyleConfig(seed_offset=1))
    for emo, prof in PROFILES.items():
        pitches = [a[s.speaker, emo].pitch for s in speakers]
        assert len(set(pitches)) == len(speakers)  # each speaker acts the emotion in its own way
        assert all(np.sign(p) == np.sign(prof.pitch) for p in pitches)  # ... in the same direction
    assert all(a[s.speaker, "sad"].rate < 1 < a[s.speaker, "angry"].rate for s in speakers)
    items = plan_styled_utterances(speakers, 3, StyleConfig(utts_per_emotion=2), a)
    assert len(items) == 6 * 4 * 2 and len({i.utt.utt for i in items}) == len(items)
    assert all(i.utt.utt.startswith(i.utt.speaker + "-") and i.utt.style in PROFILES for i in items)
    with pytest.raises(DataError, match="emotions"):
        StyleConfig(emotions=("angry", "bored")).validate()


def test_ssml_and_voice_variants_are_well_formed(tmp_path):
    speakers = plan_speakers(CFG)
    styles = plan_speaker_styles(speakers, 3, StyleConfig())
    text = "The old barn leaned toward the river & the storm."
    for emo in PROFILES:
        markup = ssml_markup(text, styles[speakers[0].speaker, emo], random.Random(1))
        root = ET.fromstring(markup)  # valid XML (the ampersand is escaped)
        assert root.tag == "speak" and "".join(root.itertext()).split() == text.replace("storm.", "storm?" if emo == "surprised" else "storm.").split()
    assert '<break time="' in ssml_markup(text, styles[speakers[0].speaker, "sad"], random.Random(1))
    sad = variant_lines(styles[speakers[0].speaker, "sad"])
    assert any(line.startswith("breath ") for line in sad) and any(line.startswith("flutter ") for line in sad)
    assert any(line.startswith("roughness ") for line in variant_lines(styles[speakers[0].speaker, "angry"]))
    folder = build_espeak_data(tmp_path / "d", [styles[speakers[0].speaker, "sad"]], {s.speaker: s for s in speakers})
    variant = (folder / "voices" / "!v" / f"emo-sad-{speakers[0].speaker}").read_text()
    assert variant.startswith("language variant") and f"name emo-sad-{speakers[0].speaker}" in variant
    many = plan_speaker_styles(plan_speakers(MiniConfig(num_speakers=80, num_test_speakers=10)), 1, StyleConfig())
    with EspeakDataDirs(list(many.values()), {s.speaker: s for s in plan_speakers(MiniConfig(num_speakers=80,
                                                                                             num_test_speakers=10))}) as dirs:
        assert len(set(dirs.values())) == 2 and len(many) > MAX_VARIANTS_PER_FOLDER  # espeak lists <= 349 voices


def test_styles_change_level_rate_and_pitch_of_the_same_speaker():
    speakers = plan_speakers(CFG)
    spk = speakers[0]
    cfg = StyleConfig(utts_per_emotion=1, expressiveness=(1.0, 1.0), strength_jitter=0.0, cue_jitter=0.0)
    styles = plan_speaker_styles([spk], 3, cfg)
    items = {i.utt.style: i for i in plan_styled_utterances([spk], 3, cfg, styles)}
    same_text = {e: dataclasses.replace(i, utt=dataclasses.replace(i.utt, text=items["angry"].utt.text, snr=60.0),
                                        ssml_text="") for e, i in items.items()}
    with EspeakDataDirs(list(styles.values()), {spk.speaker: spk}) as dirs:
        audio = {e: render_styled(i, spk, dirs[spk.speaker]) for e, i in same_text.items()}
        assert render_styled(items["sad"], spk, dirs[spk.speaker]).tobytes() == \
            render_styled(items["sad"], spk, dirs[spk.speaker]).tobytes()  # deterministic
    neutral_utt = dataclasses.replace(items["angry"].utt, voice=f"{spk.accent}+{spk.variant}", pitch=spk.pitch,
                                      rate=spk.rate, snr=60.0, style="neutral")
    audio["neutral"] = render_utterance(neutral_utt, spk)
    level = {e: 10 * np.log10(active_power(x)) for e, x in audio.items()}
    assert level["angry"] > level["neutral"] + 3 > level["sad"] + 6
    assert len(audio["sad"]) > 1.15 * len(audio["neutral"]) > 1.15 * len(audio["angry"])


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def test_cli_renders_from_the_base_design_and_leaves_it_alone(tmp_path, capsys):
    base = tmp_path / "corpus"
    make_mini_corpus.main(["--out-dir", str(base), "--num-speakers", "4", "--num-test-speakers", "2",
                           "--utts-per-speaker", "2", "--seed", "5"])
    before = _digest(base)
    out = tmp_path / "emotion"
    args = ["--base-dir", str(base), "--out-dir", str(out), "--utts-per-emotion", "1", "--nj", "2"]
    make_emotion_corpus.main(args)
    assert _digest(base) == before
    meta = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(meta) == 4 * 4 and {m["style"] for m in meta} == set(PROFILES)
    assert {m["split"] for m in meta} == {"train", "test"} and all((out / m["path"]).is_file() for m in meta)
    first = {m["utt"]: sf.read(out / m["path"])[0] for m in meta}
    (out / meta[0]["path"]).unlink()
    make_emotion_corpus.main(args[:-1] + ["1"])  # resumes: remakes only the missing file, same bytes
    again = {m["utt"]: sf.read(out / m["path"])[0] for m in meta}
    assert all(np.array_equal(first[k], again[k]) for k in first)
    with pytest.raises(SystemExit):
        make_emotion_corpus.main(args[:-3] + ["2", "--nj", "1"])  # another design into the same folder
    assert "config.json: folder made with another design (differs in styles)" in capsys.readouterr().err
    (base / "speakers.jsonl").write_text((base / "speakers.jsonl").read_text().replace('"pitch": ', '"pitch": 1', 1))
    with pytest.raises(SystemExit):
        make_emotion_corpus.main(["--base-dir", str(base), "--out-dir", str(tmp_path / "e2")])
    assert "speakers.jsonl:1: key 'spk001': speaker differs from the plan" in capsys.readouterr().err
