"""TorchScript export: scripted vs eager parity for every encoder, the front-end read back, the .ts extractor."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import embspace
from embspace.cli.commands import GROUPS, TOP_LEVEL
from embspace.extract import load_encoder
from embspace.features.frontend import kaldi_frontend
from embspace.models import MODELS, build_model
from embspace.models.resnet import BLOCKS
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError
from tests.conftest import REPO, synth_voice
from tests.wespeaker_fixtures import imported_model, reference, run_main

pytestmark = pytest.mark.filterwarnings(r"ignore:.*torch\.jit.*deprecated:DeprecationWarning")

WS_ASP = {"stats": "unbiased", "attention": "tanh", "attention_channels": 8}
ARCHS = {
    "xvector": dict(type="xvector", feat_dim=24, embed_dim=16, channels=16, hidden=24),
    "xvector_asp_two_emb": dict(type="xvector", feat_dim=24, embed_dim=16, channels=16, hidden=24,
                                two_emb_layer=True, pooling="asp"),
    "ecapa": dict(type="ecapa", feat_dim=24, embed_dim=16, channels=32, scale=4, se_channels=8),
    "ecapa_tstp": dict(type="ecapa", feat_dim=24, embed_dim=16, channels=32, scale=4, se_channels=8, pooling="tstp"),
    # WeSpeaker-compatible options (ECAPA_TDNN_GLOB and ECAPA_TDNN with emb_bn), as import_model writes them
    "ecapa_ws_glob": dict(type="ecapa", feat_dim=24, embed_dim=16, channels=32, scale=8, mfa_channels=48,
                          se_channels=8, sum_inputs=False, emb_bn=False,
                          pooling_options={**WS_ASP, "global_context": True}),
    "ecapa_ws": dict(type="ecapa", feat_dim=24, embed_dim=16, channels=32, scale=8, mfa_channels=48, se_channels=8,
                     sum_inputs=False, emb_bn=True, pooling_options={**WS_ASP, "global_context": False}),
    "resnet_basic": dict(type="resnet", feat_dim=24, embed_dim=16, m_channels=4, layers="resnet18"),
    "resnet_basic_astp": dict(type="resnet", feat_dim=24, embed_dim=16, m_channels=4, layers="resnet10",
                              pooling="asp", pooling_options={**WS_ASP, "global_context": False}),
    "resnet_bottleneck": dict(type="resnet", feat_dim=24, embed_dim=16, m_channels=2, layers="resnet50",
                              block="bottleneck", two_emb_layer=True, pooling_options={"stats": "unbiased"}),
}
#: (batch, frames) pairs; 15 is the x-vector's shortest input
SHAPES = [(1, 15), (1, 301), (2, 57), (5, 200)]
#: scripted and eager run the same kernels on CPU: equal in practice; this leaves room for op fusion
ATOL = 1e-6


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models, and a shared machine where spinning threads wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_stats_(model: torch.nn.Module) -> torch.nn.Module:
    """BatchNorm running statistics away from (0, 1), so that eval-mode BN is not the identity."""
    gen = torch.Generator().manual_seed(1)
    for name, t in model.state_dict().items():
        if name.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape, generator=gen))
        elif name.endswith("running_mean"):
            t.copy_(0.1 * torch.randn(t.shape, generator=gen))
    return model


def _model_file(cfg: dict, path, frontend: dict | None = None):
    torch.manual_seed(0)
    state = {"model": _random_stats_(build_model(cfg)).state_dict(), "model_config": cfg}
    if frontend is not None:
        state["frontend"] = frontend
    ckpt.save(state, path)
    return path


def test_every_encoder_type_and_block_is_covered() -> None:
    assert {cfg["type"] for cfg in ARCHS.values()} == set(MODELS)
    assert {cfg.get("block", "basic") for cfg in ARCHS.values() if cfg["type"] == "resnet"} == set(BLOCKS)


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_scripted_matches_eager_over_batches_and_lengths(name: str, tmp_path, capsys) -> None:
    model = _model_file(ARCHS[name], tmp_path / "model.pt")
    assert run_main("export_torchscript", "--model", model, "--out", tmp_path / "model.ts") == 0
    assert "max abs diff vs eager" in capsys.readouterr().err
    eager = load_encoder(model, torch.device("cpu"))
    scripted = load_encoder(tmp_path / "model.ts", torch.device("cpu"))
    assert isinstance(scripted.module, torch.jit.ScriptModule) and scripted.feat_dim == 24
    gen = torch.Generator().manual_seed(2)
    for batch, frames in SHAPES:
        feats = torch.randn(batch, frames, 24, generator=gen)
        with torch.inference_mode():
            expected = eager(feats)
            for _ in range(3):  # the profiling executor optimises the graph after the first runs
                got = scripted(feats)
        assert got.shape == (batch, 16)
        torch.testing.assert_close(got, expected, rtol=0, atol=ATOL)


def test_scripted_file_runs_without_embspace(tmp_path) -> None:
    """Plain torch.jit.load in a process that never imports embspace gives the same embeddings."""
    model = _model_file(ARCHS["ecapa_ws_glob"], tmp_path / "model.pt")
    assert run_main("export_torchscript", "--model", model, "--out", tmp_path / "model.ts") == 0
    feats = torch.randn(2, 80, 24, generator=torch.Generator().manual_seed(3))
    torch.save(feats, tmp_path / "feats.pt")
    code = ("import sys, torch; m = torch.jit.load(sys.argv[1]); "
            "torch.save(m(torch.load(sys.argv[2])), sys.argv[3]); assert 'embspace' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, tmp_path / "model.ts", tmp_path / "feats.pt", tmp_path / "out.pt"],
                   check=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    with torch.inference_mode():
        expected = load_encoder(model, torch.device("cpu"))(feats)
    torch.testing.assert_close(torch.load(tmp_path / "out.pt"), expected, rtol=0, atol=ATOL)


def test_frontend_round_trip(tmp_path) -> None:
    frontend = kaldi_frontend(24, frame_length_ms=20.0, frame_shift_ms=12.5, sample_rate=8000)
    model = _model_file(ARCHS["resnet_basic"], tmp_path / "model.pt", frontend)
    assert run_main("export_torchscript", "--model", model, "--out", tmp_path / "model.ts") == 0
    encoder = load_encoder(tmp_path / "model.ts", torch.device("cpu"))
    assert encoder.frontend == frontend == load_encoder(model, torch.device("cpu")).frontend
    assert (encoder.feat_dim, encoder.embed_dim) == (24, 16)
    extra = {"embspace.json": ""}
    torch.jit.load(str(tmp_path / "model.ts"), _extra_files=extra)
    assert json.loads(extra["embspace.json"])["frontend"] == frontend
    # recognised by its content whatever its name
    shutil.copy(tmp_path / "model.ts", tmp_path / "scripted.pt")
    assert load_encoder(tmp_path / "scripted.pt", torch.device("cpu")).frontend == frontend


def test_load_model_embeds_arrays_with_a_ts_file(tmp_path) -> None:
    """An imported WeSpeaker model (Kaldi front-end) exported to .ts embeds as the .pt does."""
    model = imported_model("ecapa_glob_c1024", tmp_path)
    assert run_main("export_torchscript", "--model", model, "--out", tmp_path / "m.ts") == 0
    voice = synth_voice(np.random.default_rng(0), 150, [600, 1500, 2500], 1.0).astype(np.float32)
    ts_model, pt_model = embspace.load_model(tmp_path / "m.ts"), embspace.load_model(model)
    assert ts_model.frontend.cfg == kaldi_frontend(16)
    emb = ts_model.embed(voice, sample_rate=16000)
    assert emb.shape == (16,) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, pt_model.embed(voice, sample_rate=16000), rtol=0, atol=ATOL)
    resampled = ts_model.embed(voice[::2], sample_rate=8000)  # resampled to the front-end's rate first
    assert resampled.shape == (16,) and np.isfinite(resampled).all()
    with pytest.raises(ValueError, match=r"expected \(batch, frames, 16\) features, got \[1, 50, 24\]"):
        ts_model.encoder(torch.zeros(1, 50, 24))
    for feats, ws_embs in reference("ecapa_glob_c1024"):  # WeSpeaker's own embeddings of the fixture
        with torch.inference_mode():
            got = ts_model.encoder(torch.from_numpy(feats)).numpy()
        np.testing.assert_allclose(got, ws_embs, rtol=0, atol=2e-6)


def test_command_is_registered(tmp_path) -> None:
    assert GROUPS["model"][1]["export-torchscript"] == TOP_LEVEL["export-torchscript"] == "export_torchscript"
    model = _model_file(ARCHS["xvector"], tmp_path / "model.pt")
    r = subprocess.run([sys.executable, "-m", "embspace", "export-torchscript", "--model", str(model), "--out",
                        str(tmp_path / "m.ts")], capture_output=True, text=True,
                       env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert load_encoder(tmp_path / "m.ts", torch.device("cpu")).feat_dim == 24


def test_bad_inputs_are_clear_errors_and_write_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "out.ts"
    torch.save({"layer1.conv.weight": torch.zeros(2)}, tmp_path / "ws.pt")  # a WeSpeaker-like checkpoint
    ckpt.save({"model": {}, "model_config": {"type": "conformer", "feat_dim": 24}}, tmp_path / "unknown.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    cases = [("ws.pt", "not an encoder model file"), ("unknown.pt", "bad model_config (unknown model type 'conformer'"),
             ("junk.pt", "cannot load checkpoint"), ("missing.pt", "checkpoint not found")]
    for name, message in cases:
        capsys.readouterr()
        assert run_main("export_torchscript", "--model", tmp_path / name, "--out", out) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"export_torchscript: error: {tmp_path / name}") and message in err, err
        assert not out.exists()
    model = _model_file(ARCHS["xvector"], tmp_path / "model.pt")
    assert run_main("export_torchscript", "--model", model, "--out", tmp_path / "m.ts") == 0
    capsys.readouterr()
    assert run_main("export_torchscript", "--model", tmp_path / "m.ts", "--out", out) == 1
    assert "not an ONNX or TorchScript export" in capsys.readouterr().err and not out.exists()


def test_foreign_or_broken_ts_files_are_refused(tmp_path) -> None:
    torch.jit.save(torch.jit.script(build_model(ARCHS["xvector"])), str(tmp_path / "plain.ts"))
    with pytest.raises(DataError, match=r"plain.ts: no embspace metadata \(front-end\) .*export_torchscript"):
        load_encoder(tmp_path / "plain.ts", torch.device("cpu"))
    torch.jit.save(torch.jit.script(build_model(ARCHS["xvector"])), str(tmp_path / "bad_meta.ts"),
                   _extra_files={"embspace.json": json.dumps({"feat_dim": 24, "embed_dim": 16, "frontend": {}})})
    with pytest.raises(DataError, match="bad_meta.ts: bad embspace metadata in embspace.json .*front-end setting "
                                        "missing"):
        load_encoder(tmp_path / "bad_meta.ts", torch.device("cpu"))
    (tmp_path / "junk.ts").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.ts: cannot load TorchScript model"):
        load_encoder(tmp_path / "junk.ts", torch.device("cpu"))
    with pytest.raises(DataError, match="missing.ts: TorchScript model not found"):
        embspace.load_model(tmp_path / "missing.ts")
