"""INSIDE backends: the espeak voice space and conditioning network, the command protocol (jobs, the
example script in local/, validation, resampling, failure and resume), the identities CLI's errors."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from embspace.corpus.espeak import get_synth
from embspace.corpus.mini import Speaker, Utterance, render_voice
from embspace.inside.backend import build_backend
from embspace.inside.espeak_voice import (VoiceCode, VoiceSpec, private_data_dir, sample_code, shipped_variants,
                                          speak)
from embspace.inside.identities import make_identities, write_identities
from embspace.inside.pairing import select_pairs
from embspace.inside.synthesis import metadata_entries
from tests.conftest import REPO, run_cli

TEXT = "The old barn leaned toward the river after the storm."


def test_shipped_variant_round_trips_through_the_voice_space(tmp_path):
    variants = shipped_variants()
    assert len(variants) >= 60 and {g for g, _ in variants.values()} == {"m", "f"}
    d = private_data_dir(tmp_path / "espeak-ng-data")
    m3 = variants["m3"][1]
    again = VoiceSpec.from_vector(*m3.to_vector())
    assert again.variant_text() == m3.variant_text()
    spec = VoiceCode({"m3": 1.0}, "en-us", {"api_pitch": 50, "api_range": 50, "api_rate": 175, "api_word_gap": 0,
                                            "tilt_db_per_octave": 0.0, "log_peak_hz": np.log(1000.0), "peak_db": 0.0,
                                            "peak_width_oct": 0.4}).realise({"m3": m3})
    ours = speak(spec, TEXT, d, seed=3, pitch_jitter=0, rate_jitter=0)
    # the generated variant file sounds exactly like the shipped one rendered the corpus's way
    spk = Speaker("s", "", "", "m3", "en-us", 50, 50, 175, 0, 0.0, 0.0, 1000.0, 0.0, 0.4)
    utt = Utterance("u", "s", "", "en", TEXT, 0, "white", 0.0, "en-us+m3", 50, 175, 0.0, 0.0, _seed_of(3), 0)
    ref = render_voice(utt, spk, get_synth(str(d)))
    assert ours.shape == ref.shape and np.array_equal(ours, ref)
    assert not list((d / "voices" / "!v").glob("ins*")), "generated variants are removed after use"


def _seed_of(seed: int) -> int:
    """The espeak seed speak() derives from its seed (jitter draws come first)."""
    rng = random.Random(seed)
    rng.randint(0, 0), rng.randint(0, 0)
    return rng.getrandbits(31)


def test_blends_move_continuously_between_variants():
    variants = shipped_variants()
    anchors = {k: s for k, (_, s) in variants.items()}
    a, b = anchors["m1"].to_vector()[0], anchors["m7"].to_vector()[0]
    mid = VoiceCode({"m1": 0.5, "m7": 0.5}, "en", {}).realise(anchors).to_vector()[0]
    assert np.allclose(mid, 0.5 * (a + b))
    rng = random.Random(0)
    codes = [sample_code(rng, g, variants) for g in "mf" * 20]
    assert all(variants[v][0] == g for c, g in zip(codes, "mf" * 20) for v in c.anchors)
    assert any(len(c.anchors) == 2 for c in codes) and any(len(c.anchors) == 1 for c in codes)


@pytest.fixture(scope="module")
def tiny_condnet(tmp_path_factory):
    """A conditioning network trained on 16 random voices (1 utterance each) through the CLI."""
    out = tmp_path_factory.mktemp("condnet")
    run_cli("inside_train_condnet", "--out-dir", out, "--num-voices", 16, "--utts-per-voice", 1, "--epochs", 30,
            "--record", "false", "--espeak-data-dir", out / "espeak-ng-data")
    return out


def test_espeak_backend_is_conditioned_and_deterministic(tiny_condnet):
    summary = json.loads((tiny_condnet / "summary.json").read_text())
    assert summary["num_voices"] == 16 and summary["num_dev"] >= 1
    assert len(list(tiny_condnet.glob("voices.*.npz"))) == 1
    backend = build_backend("espeak", model=tiny_condnet / "model.pt", data_dir=tiny_condnet / "espeak-ng-data")
    assert backend.space == "ge2e-256"
    rng = np.random.default_rng(0)
    e1, e2 = np.abs(rng.standard_normal(256)), np.abs(rng.standard_normal(256))
    w1 = backend.synthesize(e1, [TEXT, "A second, shorter sentence."], "en")
    assert len(w1) == 2 and all(w.dtype == np.float32 and w.ndim == 1 and len(w) > 8000 for w in w1)
    assert backend.synthesize(e1, [TEXT], "en")[0].tobytes() == w1[0].tobytes()
    v1, v2 = backend.voice(e1), backend.voice(e2)
    assert v1.variant_text() != v2.variant_text() or v1.accent != v2.accent or v1.api_pitch != v2.api_pitch
    with pytest.raises(Exception, match="256-dim"):
        backend.synthesize(np.ones(12), [TEXT], "en")


def _identities(tmp_path, n_per_gender=4):
    rng = np.random.default_rng(0)
    ids = [f"s{i:02d}" for i in range(2 * n_per_gender)]
    genders = {s: "mf"[i % 2] for i, s in enumerate(ids)}
    emb = rng.standard_normal((len(ids), 16)).astype(np.float32)
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=4, k=2)
    idents, cond = make_identities(pairs, ids, emb, "nn")
    write_identities(tmp_path / "identities", idents, cond)
    return idents, cond


def _jobs(*args, check=True):
    return run_cli("inside_command_jobs", *args, check=check)


def test_command_backend_protocol_failure_rate_and_resume(tmp_path):
    idents, cond = _identities(tmp_path)
    common = ["--identities", tmp_path / "identities", "--work-dir", tmp_path / "tts", "--out-dir", tmp_path / "synth",
              "--nj", 2, "--utts-per-identity", 2]
    _jobs("write", *common)
    jobs1 = [json.loads(x) for x in (tmp_path / "tts" / "jobs.1.jsonl").read_text().splitlines()]
    assert len(jobs1) == 4 and set(jobs1[0]) == {"identity", "utt", "text", "language", "embedding", "output", "seed"}
    assert np.array_equal(np.load(jobs1[0]["embedding"]), cond[0])
    env = dict(os.environ, PYTHONPATH=str(REPO))
    example = [sys.executable, str(REPO / "steps" / "inside" / "tts_espeak.py")]
    # job 1 writes 22.05 kHz audio, job 2 is never run (its TTS "failed")
    subprocess.run(example + ["--rate", "22050", str(tmp_path / "tts" / "jobs.1.jsonl")], check=True, env=env,
                   capture_output=True)
    proc = _jobs("collect", *common, check=False)
    assert proc.returncode == 1 and "sampling rate 22050" in proc.stderr and idents[0].id in proc.stderr
    assert not (tmp_path / "synth" / "records").exists()
    proc = _jobs("collect", *common, "--resample", "true", check=False)
    assert proc.returncode == 1 and "2 identities failed (2 saved" in proc.stderr and "wrote nothing" in proc.stderr
    assert sorted(p.stem for p in (tmp_path / "synth" / "records").iterdir()) == [i.id for i in idents[:2]]
    # rerun: only the failed identities get jobs; then everything is collected
    _jobs("write", *common)
    left = [json.loads(x)["identity"] for j in (1, 2) for x in (tmp_path / "tts" / f"jobs.{j}.jsonl").read_text().splitlines()]
    assert sorted(set(left)) == [i.id for i in idents[2:]]
    for j in (1, 2):
        subprocess.run(example + [str(tmp_path / "tts" / f"jobs.{j}.jsonl")], check=True, env=env, capture_output=True)
    _jobs("collect", *common)
    entries = metadata_entries(idents, cond, tmp_path / "synth")
    assert len(entries) == 8
    import soundfile as sf
    info = sf.info(str(tmp_path / "synth" / entries[0]["path"]))
    assert info.samplerate == 16000 and info.channels == 1 and info.frames > 8000


def test_command_backend_in_process(tmp_path):
    script = tmp_path / "tts.sh"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    backend = build_backend("command", command=str(script))
    with pytest.raises(Exception, match="exited with 3"):
        backend.synthesize(np.ones(4), ["hello"], "en")
    ok = build_backend("command", command=[sys.executable, str(REPO / "steps" / "inside" / "tts_espeak.py")])
    wavs = ok.synthesize(np.arange(1, 9, dtype=np.float32), ["hello there", "good morning"], "en")
    assert len(wavs) == 2 and all(len(w) > 4000 for w in wavs)


def test_identities_cli_bad_input(tmp_path):
    from embspace.embio import write_embeddings

    rng = np.random.default_rng(1)
    ids = ["a1", "a2", "b1", "b2", "b3"]
    write_embeddings(tmp_path / "spk.ark", tmp_path / "spk.scp", [(s, rng.standard_normal(8)) for s in ids])
    (tmp_path / "spk2gender").write_text("a1 m\na2 m\nb1 f\nb2 f\n")
    base = ["--spk-scp", tmp_path / "spk.scp", "--spk2gender", tmp_path / "spk2gender", "--num-identities", 2,
            "--out-dir", tmp_path / "out"]
    proc = run_cli("inside_identities", *base, check=False)
    assert proc.returncode == 1 and "key 'b3'" in proc.stderr and "no gender" in proc.stderr
    (tmp_path / "spk2gender").write_text("a1 m\na2 m\nb1 f\nb2 f\nb3 m\n")
    run_cli("inside_identities", *base)
    rows = [json.loads(x) for x in (tmp_path / "out" / "identities.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["inside_f_000001", "inside_m_000001"]
    (tmp_path / "spk2gender").write_text("a1 m\na2 f\nb1 f\nb2 f\nb3 f\n")
    proc = run_cli("inside_identities", *base, check=False)
    assert proc.returncode == 1 and "key 'm'" in proc.stderr and "at least 2" in proc.stderr
    # an id that collides with the synthetic namespace
    write_embeddings(tmp_path / "spk.ark", tmp_path / "spk.scp",
                     [(s, rng.standard_normal(8)) for s in ["a1", "a2", "b1", "inside_f_000001"]])
    (tmp_path / "spk2gender").write_text("a1 m\na2 m\nb1 f\ninside_f_000001 f\n")
    proc = run_cli("inside_identities", *base, check=False)
    assert proc.returncode == 1 and "inside_f_000001" in proc.stderr and "prefix" in proc.stderr
