"""Sampler, trainer, exact resume after SIGKILL, checkpoint averaging, extraction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from embspace.embio import read_embeddings
from embspace.training import checkpoint as ckpt
from embspace.training.sampler import SpeakerBalancedSampler
from tests.conftest import REPO, run_cli

TINY_CONFIG = {
    "seed": 7,
    "model": {"type": "xvector", "feat_dim": 40, "embed_dim": 16, "channels": 16, "hidden": 32},
    "loss": {"type": "aam", "margin": 0.2, "scale": 16},
    "margin_schedule": {"increase_start_epoch": 0, "fix_start_epoch": 1},
    "optimizer": {"type": "adam"},
    "lr_schedule": {"initial_lr": 0.01, "final_lr": 0.001, "warmup_epochs": 0.5},
    "data": {"num_frames": 60, "spk_per_batch": 4, "utts_per_spk": 2, "batches_per_epoch": 6},
    "epochs": 3,
    "save_every_steps": 1,
    "log_every": 1,
    "extra_losses": [{"name": "same_speaker_cosine", "weight": 0.1}],
}


def test_sampler_is_deterministic_balanced_and_sharded():
    labels = np.repeat(np.arange(10), 5)
    s = SpeakerBalancedSampler(labels, spk_per_batch=4, utts_per_spk=3, seed=3, num_batches=8)
    a, b = s.epoch_batches(2), s.epoch_batches(2)
    assert a == b and a != s.epoch_batches(3)
    for batch in a:
        spk = [labels[i] for i, _ in batch]
        assert len(set(spk)) == 4 and all(spk.count(x) == 3 for x in set(spk))
    shards = []
    for rank in range(2):
        r = SpeakerBalancedSampler(labels, 4, 3, seed=3, num_batches=8, rank=rank, world_size=2)
        r.set_epoch(2)
        shards.append(list(r))
    assert len(shards[0]) == len(shards[1]) == 4
    assert sorted(map(str, shards[0] + shards[1])) == sorted(map(str, a))
    s.set_epoch(2, start_batch=5)
    assert list(s) == a[5:]


def _train(config: dict, cuts: Path, exp: Path, *extra: str) -> subprocess.Popen:
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "conf.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "embspace.bin.train", "--config", str(exp / "conf.yaml"),
                             "--cuts", str(cuts), "--exp-dir", str(exp), "--device", "cpu", "--num-threads", "1", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return ckpt.load(path)["model"]


def test_sigkill_then_resume_gives_identical_weights(tiny_data, tmp_path):
    ref = _train(TINY_CONFIG, tiny_data["train_cuts"], tmp_path / "ref")
    out, _ = ref.communicate(timeout=300)
    assert ref.returncode == 0, out
    assert "epoch 3 done" in out and "same_speaker_cosine" in out

    exp = tmp_path / "killed"
    proc = _train(TINY_CONFIG, tiny_data["train_cuts"], exp)
    latest = exp / "models" / "checkpoint_latest.pt"
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some mid-training checkpoint exists, then kill hard
        if latest.exists() and ckpt.load(latest)["global_step"] >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    step_at_kill = ckpt.load(latest)["global_step"]
    assert 8 <= step_at_kill < 18, "the run must be killed mid-training for this test to mean anything"
    resumed = _train(TINY_CONFIG, tiny_data["train_cuts"], exp)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert "resumed from" in out
    for e in (1, 2, 3):
        a, b = _weights(tmp_path / "ref" / "models" / f"model_{e}.pt"), _weights(exp / "models" / f"model_{e}.pt")
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), f"epoch {e} {k} differs after resume"


def test_average_and_extract(tiny_data, tmp_path):
    cfg = dict(TINY_CONFIG, epochs=2, save_every_steps=0)
    proc = _train(cfg, tiny_data["train_cuts"], tmp_path / "exp")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    models = tmp_path / "exp" / "models"
    run_cli("average_model", "--model-dir", models, "--num", "2", "--out", models / "avg_model.pt")
    m1, m2, avg = (_weights(models / n) for n in ("model_1.pt", "model_2.pt", "avg_model.pt"))
    k = next(k for k, v in avg.items() if v.is_floating_point())
    assert torch.allclose(avg[k], (m1[k] + m2[k]) / 2)
    from embspace.features.frontend import embspace_frontend

    assert ckpt.load(models / "avg_model.pt")["frontend"] == embspace_frontend(TINY_CONFIG["model"]["feat_dim"])

    emb_dir = tmp_path / "emb"
    for job in (1, 2):
        run_cli("extract", "--model", models / "avg_model.pt", "--cuts", tiny_data["test_cuts"], "--out-dir", emb_dir,
                "--job", job, "--nj", 2)
    run_cli("merge_embeddings", "--dir", emb_dir, "--nj", 2, "--utt2spk", tiny_data["data"] / "test" / "utt2spk")
    keys, emb = read_embeddings(emb_dir / "xvector.scp")
    assert len(keys) == 18 and emb.shape == (18, 16) and len(set(keys)) == 18
    spk_keys, spk_emb = read_embeddings(emb_dir / "spk_xvector.scp")
    assert len(spk_keys) == 3
    # batched extraction (equal-length groups) reproduces per-utterance vectors
    run_cli("extract", "--model", models / "avg_model.pt", "--cuts", tiny_data["test_cuts"], "--out-dir", tmp_path / "b",
            "--batch-size", 4)
    keys_b, emb_b = read_embeddings(tmp_path / "b" / "xvector.1.scp")
    order = {k: i for i, k in enumerate(keys_b)}
    np.testing.assert_allclose(emb, emb_b[[order[k] for k in keys]], rtol=1e-4, atol=1e-5)


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "model_1.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = run_cli("average_model", "--model-dir", tmp_path, "--num", "1", "--out", tmp_path / "avg.pt", check=False)
    assert proc.returncode == 1 and "model_1.pt" in proc.stderr and "cannot load checkpoint" in proc.stderr
    assert not (tmp_path / "avg.pt").exists()


def test_resume_refuses_a_checkpoint_of_another_config(tiny_data, tmp_path):
    cfg = dict(TINY_CONFIG, epochs=1, save_every_steps=0)
    proc = _train(cfg, tiny_data["train_cuts"], tmp_path / "exp")
    assert proc.communicate(timeout=300)[0] and proc.returncode == 0
    before = (tmp_path / "exp" / "models" / "model_1.pt").read_bytes()
    changed = dict(cfg, lr_schedule={**cfg["lr_schedule"], "initial_lr": 0.02})
    proc = _train(changed, tiny_data["train_cuts"], tmp_path / "exp")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "checkpoint_latest.pt" in out and "another configuration" in out and "lr_schedule" in out
    assert (tmp_path / "exp" / "models" / "model_1.pt").read_bytes() == before


def test_seed_option_overrides_the_config_and_is_recorded(tiny_data, tmp_path):
    cfg = dict(TINY_CONFIG, epochs=1, save_every_steps=0, data=dict(TINY_CONFIG["data"], batches_per_epoch=2))
    runs = {"option": (cfg, ("--seed", "11")), "config": (dict(cfg, seed=11), ()), "default": (cfg, ())}
    for name, (config, extra) in runs.items():
        proc = _train(config, tiny_data["train_cuts"], tmp_path / name, *extra)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    weights = {name: _weights(tmp_path / name / "models" / "model_1.pt") for name in runs}
    assert yaml.safe_load((tmp_path / "option" / "config.yaml").read_text())["seed"] == 11
    assert ckpt.load(tmp_path / "option" / "models" / "checkpoint_latest.pt")["config"]["seed"] == 11
    assert all(torch.equal(v, weights["config"][k]) for k, v in weights["option"].items())  # = seed 11 in the YAML
    assert any(not torch.equal(v, weights["default"][k]) for k, v in weights["option"].items())
    proc = _train(cfg, tiny_data["train_cuts"], tmp_path / "option", "--seed", "12")  # another seed, same exp-dir
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "another configuration" in out and "seed" in out


def test_same_state_saves_to_the_same_bytes_under_any_name(tmp_path):
    state = {"model": {"w": torch.arange(6.0).reshape(2, 3)}, "epoch": 3}
    ckpt.save(state, tmp_path / "a.pt")
    ckpt.save(state, tmp_path / "other_name.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "other_name.pt").read_bytes()
    assert torch.equal(ckpt.load(tmp_path / "a.pt")["model"]["w"], state["model"]["w"])
