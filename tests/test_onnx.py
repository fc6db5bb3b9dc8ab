"""ONNX export: parity with PyTorch over batch sizes and lengths; the ONNX encoder in extraction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embspace.extract import load_encoder
from embspace.utils.errors import DataError
from tests.wespeaker_fixtures import imported_model, reference, run_main

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _imported(name: str, tmp_path) -> str:
    return str(imported_model(name, tmp_path))


@pytest.mark.parametrize("name", ["resnet34_astp", "ecapa_glob_c1024"])
def test_onnx_matches_pytorch_over_batches_and_lengths(name: str, tmp_path, capsys) -> None:
    model = _imported(name, tmp_path)
    assert run_main("export_onnx", "--model", model, "--out", tmp_path / "model.onnx") == 0
    assert "max abs diff vs PyTorch" in capsys.readouterr().err
    torch_enc = load_encoder(model, torch.device("cpu"))
    onnx_enc = load_encoder(tmp_path / "model.onnx", torch.device("cpu"))
    assert onnx_enc.frontend == torch_enc.frontend and onnx_enc.feat_dim == 16
    gen = torch.Generator().manual_seed(1)
    for batch, frames in [(1, 20), (1, 301), (4, 57), (7, 200)]:
        feats = torch.randn(batch, frames, 16, generator=gen)
        with torch.inference_mode():
            expected = torch_enc(feats).numpy()
        np.testing.assert_allclose(onnx_enc(feats).numpy(), expected, rtol=0, atol=2e-6)
    for feats, ws_embs in reference(name):  # and with WeSpeaker's own embeddings
        np.testing.assert_allclose(onnx_enc(torch.from_numpy(feats)).numpy(), ws_embs, rtol=0, atol=2e-6)


def test_mean_vec_is_subtracted_in_the_graph(tmp_path, capsys) -> None:
    model = _imported("resnet50_two_emb", tmp_path)
    mean = np.linspace(-0.5, 0.5, 16, dtype=np.float32)
    (tmp_path / "mean.vec").write_text("[ " + " ".join(f"{v:.6f}" for v in mean) + " ]\n")
    assert run_main("export_onnx", "--model", model, "--out", tmp_path / "m.onnx", "--mean-vec", tmp_path / "mean.vec") == 0
    feats = torch.randn(2, 90, 16, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        expected = load_encoder(model, torch.device("cpu"))(feats).numpy() - mean
    np.testing.assert_allclose(load_encoder(tmp_path / "m.onnx", "cpu")(feats).numpy(), expected, atol=2e-6)
    (tmp_path / "bad.vec").write_text("[ 1 2 3 ]\n")
    capsys.readouterr()
    assert run_main("export_onnx", "--model", model, "--out", tmp_path / "b.onnx", "--mean-vec", tmp_path / "bad.vec") == 1
    assert "dimension 3" in capsys.readouterr().err and not (tmp_path / "b.onnx").exists()


def test_onnx_file_without_btf_input_is_refused(tmp_path) -> None:
    class Flat(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    torch.onnx.export(Flat(), (torch.zeros(2, 16),), str(tmp_path / "flat.onnx"), dynamo=False,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "B"}})
    with pytest.raises(DataError, match=r"flat.onnx: input 'x' has shape \['B', 16\]; expected \[batch, frames"):
        load_encoder(tmp_path / "flat.onnx", torch.device("cpu"))
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(DataError, match="junk.onnx: cannot load ONNX model"):
        load_encoder(tmp_path / "junk.onnx", torch.device("cpu"))


def test_wespeaker_onnx_export_is_imported_with_its_frontend(tmp_path, capsys) -> None:
    """An ONNX file as WeSpeaker's export_onnx writes it (no embspace metadata) runs once imported."""
    model = _imported("ecapa_c512", tmp_path)
    encoder = load_encoder(model, torch.device("cpu"))
    for name, axes in (("ws.onnx", {"feats": {0: "B", 1: "T"}, "embs": {0: "B"}}), ("fixed.onnx", None)):
        torch.onnx.export(encoder, (torch.ones(1, 200, 16),), str(tmp_path / name), dynamo=False, opset_version=14,
                          input_names=["feats"], output_names=["embs"], dynamic_axes=axes)
    with pytest.raises(DataError, match="ws.onnx: no embspace metadata"):
        load_encoder(tmp_path / "ws.onnx", torch.device("cpu"))
    ws_cfg = tmp_path / "ws" / "config.yaml"
    assert run_main("import_model", "--from", "wespeaker-onnx", "--checkpoint", tmp_path / "ws.onnx",
                    "--config", ws_cfg, "--out", tmp_path / "ws_embspace.onnx") == 0
    onnx_enc = load_encoder(tmp_path / "ws_embspace.onnx", torch.device("cpu"))
    assert onnx_enc.frontend == encoder.frontend and onnx_enc.embed_dim == 16
    for feats, ws_embs in reference("ecapa_c512"):
        np.testing.assert_allclose(onnx_enc(torch.from_numpy(feats)).numpy(), ws_embs, rtol=0, atol=2e-6)
    capsys.readouterr()
    assert run_main("import_model", "--from", "wespeaker-onnx", "--checkpoint", tmp_path / "fixed.onnx",
                    "--config", ws_cfg, "--out", tmp_path / "f.onnx") == 1
    assert "expected [batch, frames, feat_dim] with dynamic frames" in capsys.readouterr().err
    assert not (tmp_path / "f.onnx").exists()
