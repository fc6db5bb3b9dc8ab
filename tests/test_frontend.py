"""Model front-ends: Kaldi mode equals kaldi-native-fbank; extraction computes the model's front-end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from lhotse import CutSet, Recording, RecordingSet

from embspace.embio import read_embeddings
from embspace.extract import load_encoder
from embspace.features.fbank import make_extractor
from embspace.features.frontend import Frontend, check_frontend, embspace_frontend, kaldi_frontend
from embspace.utils.errors import DataError
from tests.wespeaker_fixtures import imported_model, run_main


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 2.5 s of espeak-ng speech at 16 kHz."""
    from embspace.corpus.espeak import get_synth

    return get_synth().synth("The quick brown fox jumps over the lazy dog.").astype(np.float32)


def test_kaldi_frontend_equals_kaldi_native_fbank(speech) -> None:
    knf = pytest.importorskip("kaldi_native_fbank")
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.window_type = "hamming"
    opts.frame_opts.snip_edges = True
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = 80
    opts.mel_opts.high_freq = 0
    online = knf.OnlineFbank(opts)
    online.accept_waveform(16000, (speech * 32768).tolist())
    online.input_finished()
    expected = np.stack([online.get_frame(i) for i in range(online.num_frames_ready)])
    got = Frontend(kaldi_frontend(80)).fbank(speech, 16000)
    assert got.shape == expected.shape == (1 + (len(speech) - 400) // 160, 80)
    diff = np.abs(got - expected)  # largest in single low-energy values of the lowest mel bins
    assert diff.max() < 2e-3 and diff.mean() < 5e-5


def test_embspace_frontend_equals_stored_features(speech) -> None:
    stored = make_extractor(80).extract(speech, 16000)
    np.testing.assert_array_equal(Frontend(embspace_frontend(80)).fbank(speech, 16000), stored)
    normalised = Frontend(embspace_frontend(80))(speech, 16000)
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-4)


def test_frontend_rejects_bad_audio_and_settings() -> None:
    fe = Frontend(kaldi_frontend(80))
    with pytest.raises(DataError, match="expected mono"):
        fe.fbank(np.zeros((2, 16000), np.float32), 16000)
    with pytest.raises(DataError, match="empty"):
        fe.fbank(np.zeros(0, np.float32), 16000)
    with pytest.raises(DataError, match="8000 Hz.*16000 Hz"):
        fe.fbank(np.zeros(16000, np.float32), 8000)
    with pytest.raises(DataError, match="too short"):
        fe.fbank(np.zeros(200, np.float32), 16000)
    with pytest.raises(DataError, match="key 'snip_edges'"):
        check_frontend({k: v for k, v in kaldi_frontend().items() if k != "snip_edges"})


def test_extract_computes_the_imported_models_frontend(tmp_path, speech) -> None:
    imported_model("ecapa_c512", tmp_path)
    sf.write(tmp_path / "u1.wav", speech, 16000)
    recs = RecordingSet.from_recordings([Recording.from_file(tmp_path / "u1.wav")])
    CutSet.from_manifests(recs).to_file(tmp_path / "cuts.jsonl.gz")
    assert run_main("extract", "--model", tmp_path / "model.pt", "--cuts", tmp_path / "cuts.jsonl.gz",
                    "--out-dir", tmp_path / "emb") == 0
    keys, got = read_embeddings(tmp_path / "emb" / "xvector.1.scp")
    encoder = load_encoder(tmp_path / "model.pt", torch.device("cpu"))
    feats = Frontend(kaldi_frontend(16))(sf.read(tmp_path / "u1.wav", dtype="float32")[0], 16000)
    with torch.inference_mode():
        expected = encoder(torch.from_numpy(feats)[None]).numpy()[0]
    assert len(keys) == 1
    np.testing.assert_allclose(got[0], expected, atol=1e-6)
