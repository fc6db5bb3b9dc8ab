"""Importing WeSpeaker checkpoints: embeddings equal WeSpeaker's own; every mismatch is a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
import soundfile as sf
from lhotse import CutSet, Recording, RecordingSet

from embspace.extract import load_encoder
from embspace.features.frontend import embspace_frontend, kaldi_frontend
from embspace.interop.wespeaker import import_wespeaker
from embspace.models import build_model
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError
from tests.wespeaker_fixtures import NAMES, imported_model, reference, run_main, wespeaker_checkpoint, wespeaker_state


@pytest.mark.parametrize("name", NAMES)
def test_imported_model_reproduces_wespeaker_embeddings(name: str, tmp_path) -> None:
    encoder = load_encoder(imported_model(name, tmp_path), torch.device("cpu"))
    with torch.inference_mode():
        for feats, expected in reference(name):
            got = encoder(torch.from_numpy(feats)).numpy()
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert encoder.frontend == kaldi_frontend(16)


def test_wespeaker_statistics_matter(tmp_path) -> None:
    """With embspace's default statistics the same weights give other embeddings (the option is real)."""
    ws_ckpt, ws_cfg = wespeaker_checkpoint("resnet50_two_emb", tmp_path)
    model_file = import_wespeaker(ws_ckpt, ws_cfg)
    cfg = dict(model_file["model_config"], pooling_options={"stats": "biased"})
    model = build_model(cfg).eval()
    model.load_state_dict(model_file["model"])
    feats, expected = reference("resnet50_two_emb")[1]
    with torch.inference_mode():
        assert np.abs(model(torch.from_numpy(feats)).numpy() - expected).max() > 1e-5


def _import(tmp_path, state: dict, cfg: dict) -> None:
    torch.save(state, tmp_path / "bad.pt")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    import_wespeaker(tmp_path / "bad.pt", tmp_path / "bad.yaml")


def _config(name: str, tmp_path) -> dict:
    return yaml.safe_load(wespeaker_checkpoint(name, tmp_path / "src")[1].read_text())


def test_unknown_architecture_missing_unexpected_and_misshapen_tensors_are_named(tmp_path) -> None:
    state, cfg = wespeaker_state("ecapa_c512"), _config("ecapa_c512", tmp_path)
    with pytest.raises(DataError, match=r"key 'model'.*unsupported WeSpeaker architecture 'CAMPPlus'"):
        _import(tmp_path, state, dict(cfg, model="CAMPPlus"))
    missing = {k: v for k, v in state.items() if k != "layer3.se_res2block.1.bns.2.running_var"}
    with pytest.raises(DataError, match=r"key 'layer3.se_res2block.1.bns.2.running_var'.*missing"):
        _import(tmp_path, missing, cfg)
    with pytest.raises(DataError, match=r"key 'layer9.extra.weight'.*unexpected"):
        _import(tmp_path, dict(state, **{"layer9.extra.weight": torch.zeros(2)}), cfg)
    with pytest.raises(DataError, match=r"key 'linear.weight'.*shape \(16, 48\)"):
        _import(tmp_path, state, dict(cfg, model_args=dict(cfg["model_args"], embed_dim=8)))
    with pytest.raises(DataError, match=r"key 'model_args.pooling_func'.*MQMHASTP"):
        _import(tmp_path, state, dict(cfg, model_args=dict(cfg["model_args"], pooling_func="MQMHASTP")))


def test_import_cli_error_is_one_line_and_writes_nothing(tmp_path, capsys) -> None:
    ws_ckpt, ws_cfg = wespeaker_checkpoint("resnet34_astp", tmp_path)
    ws_cfg.write_text(ws_cfg.read_text().replace("ResNet34", "ResNet35"))
    assert run_main("import_model", "--from", "wespeaker", "--checkpoint", ws_ckpt, "--config", ws_cfg,
                    "--out", tmp_path / "model.pt") == 1
    err = capsys.readouterr().err
    assert err.startswith("import_model: error:") and "ResNet35" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "model.pt").exists()


def test_load_encoder_rejects_raw_wespeaker_and_other_architecture(tmp_path, capsys) -> None:
    ws_ckpt, _ = wespeaker_checkpoint("resnet34_astp", tmp_path)
    with pytest.raises(DataError, match="import_model --from wespeaker"):
        load_encoder(ws_ckpt, torch.device("cpu"))
    ecapa = build_model({"type": "ecapa", "feat_dim": 16, "embed_dim": 8, "channels": 16})
    ckpt.save({"model": ecapa.state_dict(), "model_config": {"type": "resnet", "feat_dim": 16, "embed_dim": 8}},
              tmp_path / "mixed.pt")
    with pytest.raises(DataError, match=r"mixed.pt: key '.*': weights do not fit model_config 'resnet'"):
        load_encoder(tmp_path / "mixed.pt", torch.device("cpu"))
    sf.write(tmp_path / "a.wav", np.zeros(8000, dtype=np.float32), 16000)
    CutSet.from_manifests(RecordingSet.from_recordings([Recording.from_file(tmp_path / "a.wav")])).to_file(
        tmp_path / "cuts.jsonl.gz")
    capsys.readouterr()
    assert run_main("extract", "--model", tmp_path / "mixed.pt", "--cuts", tmp_path / "cuts.jsonl.gz",
                    "--out-dir", tmp_path / "emb") == 1
    err = capsys.readouterr().err
    assert err.startswith("extract: error:") and "weights do not fit" in err and len(err.splitlines()) == 1


def test_model_file_without_frontend_gets_embspace_frontend(tmp_path) -> None:
    model = build_model({"type": "resnet", "feat_dim": 24, "embed_dim": 8, "m_channels": 2, "layers": "resnet10"})
    ckpt.save({"model": model.state_dict(), "model_config": {"type": "resnet", "feat_dim": 24, "embed_dim": 8,
                                                             "m_channels": 2, "layers": "resnet10"}}, tmp_path / "m.pt")
    assert load_encoder(tmp_path / "m.pt", torch.device("cpu")).frontend == embspace_frontend(24)


def test_load_pretrained_is_strict_and_warns_about_another_frontend(tmp_path, caplog) -> None:
    from embspace.training.speaker import load_pretrained

    ecapa = build_model({"type": "ecapa", "feat_dim": 16, "embed_dim": 8, "channels": 16})
    ckpt.save({"model": ecapa.state_dict(), "model_config": {"type": "resnet", "feat_dim": 16, "embed_dim": 8}},
              tmp_path / "mixed.pt")
    with pytest.raises(DataError, match="weights do not fit model_config 'resnet'"):
        load_pretrained(tmp_path / "mixed.pt")
    load_pretrained(imported_model("resnet34_astp", tmp_path))
    assert "trained on another front-end" in caplog.text
