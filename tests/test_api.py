"""The user API (embspace.load_model) and the ``embspace`` command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import embspace
from embspace.embio import read_embeddings
from embspace.features.frontend import Frontend
from embspace.utils.errors import DataError
from tests.conftest import REPO, synth_voice
from tests.wespeaker_fixtures import imported_model, run_main


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """An imported WeSpeaker ECAPA model and two voices written as 16 kHz wavs."""
    tmp = tmp_path_factory.mktemp("api")
    imported_model("ecapa_glob_c1024", tmp).rename(tmp / "m.pt")
    rng = np.random.default_rng(0)
    voices = {"low": synth_voice(rng, 110, [700, 1200, 2600], 1.5), "high": synth_voice(rng, 230, [400, 2200, 3000], 1.2)}
    for name, x in voices.items():
        sf.write(tmp / f"{name}.wav", x, 16000)
    return tmp, voices


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embspace.cli", *map(str, args)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_embed_path_and_array_use_the_models_frontend(setup) -> None:
    tmp, voices = setup
    model = embspace.load_model(tmp / "m.pt")
    e = model.embed(tmp / "low.wav")
    feats = Frontend(model.encoder.frontend)(sf.read(tmp / "low.wav", dtype="float32")[0], 16000)
    with torch.inference_mode():
        expected = model.encoder(torch.from_numpy(feats)[None]).numpy()[0]
    np.testing.assert_allclose(e, expected, atol=1e-6)
    np.testing.assert_allclose(model.embed(sf.read(tmp / "low.wav", dtype="float32")[0], sample_rate=16000), e,
                               atol=1e-6)
    assert model.embed_batch([tmp / "low.wav", tmp / "high.wav"]).shape == (2, e.size)
    assert model.similarity(tmp / "low.wav", tmp / "low.wav") == pytest.approx(1.0, abs=1e-6)


def test_resampling_channels_and_bad_audio(setup) -> None:
    tmp, voices = setup
    model = embspace.load_model(tmp / "m.pt")
    from lhotse.augmentation import Resample

    sf.write(tmp / "low32k.wav", Resample(16000, 32000)(voices["low"][None], 16000)[0], 32000)
    e16, e32 = model.embed(tmp / "low.wav"), model.embed(tmp / "low32k.wav")
    assert embspace.api.cosine(e16, e32) > 0.99
    sf.write(tmp / "stereo.wav", np.stack([voices["high"][:16000], voices["low"][:16000]], axis=1), 16000,
             subtype="FLOAT")
    with pytest.raises(DataError, match=r"stereo.wav: 2 channels; choose one with channel=0..1"):
        model.embed(tmp / "stereo.wav")
    np.testing.assert_allclose(model.embed(tmp / "stereo.wav", channel=1), model.embed(voices["low"][:16000], 16000),
                               atol=1e-6)
    sf.write(tmp / "silent.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(DataError, match="silent.wav: silent audio"):
        model.embed(tmp / "silent.wav")
    sf.write(tmp / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(DataError, match="empty.wav: empty audio"):
        model.embed(tmp / "empty.wav")
    with pytest.raises(DataError, match="sample_rate is needed"):
        model.embed(voices["low"])
    with pytest.raises(DataError, match="no speakers enrolled"):
        model.identify(tmp / "low.wav")


def test_enrol_identify_and_onnx_model(setup) -> None:
    tmp, voices = setup
    model = embspace.load_model(tmp / "m.pt")
    model.enrol("low", tmp / "low.wav")
    model.enrol("high", tmp / "high.wav")
    name, score = model.identify(voices["high"][:12000], sample_rate=16000)
    assert name == "high" and score > model.similarity(voices["high"][:12000], tmp / "low.wav", 16000)
    pytest.importorskip("onnxruntime")
    assert run_main("export_onnx", "--model", tmp / "m.pt", "--out", tmp / "m.onnx") == 0
    onnx_model = embspace.load_model(tmp / "m.onnx")
    np.testing.assert_allclose(onnx_model.embed(tmp / "high.wav"), model.embed(tmp / "high.wav"), atol=2e-6)


def test_cli_embed_wavs_and_scp_and_similarity(setup, capsys) -> None:
    tmp, _ = setup
    assert run_main("embspace.cli", "embed", "--model", tmp / "m.pt", "--out-dir", tmp / "e1", tmp / "low.wav",
                    tmp / "high.wav") == 0
    keys, embs = read_embeddings(tmp / "e1" / "xvector.scp")
    model = embspace.load_model(tmp / "m.pt")
    assert keys == ["low", "high"]
    np.testing.assert_allclose(embs[1], model.embed(tmp / "high.wav"), atol=1e-6)
    (tmp / "wav.scp").write_text(f"spk1-u1 {tmp / 'high.wav'}\nspk2-u1 {tmp / 'low.wav'}\n")
    assert run_main("embspace.cli", "embed", "--model", tmp / "m.pt", "--out-dir", tmp / "e2", tmp / "wav.scp") == 0
    assert read_embeddings(tmp / "e2" / "xvector.scp")[0] == ["spk1-u1", "spk2-u1"]
    proc = _cli("similarity", "--model", tmp / "m.pt", tmp / "low.wav", tmp / "high.wav")  # as a command
    assert proc.returncode == 0 and float(proc.stdout) == pytest.approx(
        model.similarity(tmp / "low.wav", tmp / "high.wav"), abs=1e-5)
    (tmp / "bad.scp").write_text(f"u1 {tmp / 'low.wav'}\nu2 sox x.wav -t wav - |\n")
    capsys.readouterr()
    assert run_main("embspace.cli", "embed", "--model", tmp / "m.pt", "--out-dir", tmp / "e3", tmp / "bad.scp") == 1
    err = capsys.readouterr().err
    assert err.startswith("embspace: error:") and "key 'u2'" in err and len(err.splitlines()) == 1
    assert not (tmp / "e3" / "xvector.scp").exists()
