"""NESSA: mappers, losses, logit-space baseline, profiles, gain fraction, training/resume, bad inputs and CLIs."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import kaldiio
import numpy as np
import pytest
import torch

from embspace.data.kaldi_utils import fix_data_dir
from embspace.embio import read_embeddings, write_embeddings
from embspace.nessa import (PROFILE_MODES, Aligner, DevProfiles, DevSet, EarlyStopping, Pairs, TrainOptions, aligner_config, apply_numpy,
                            choose_profile_mode, classifier_reference, cosine_loss, embed_side, fit_cca, fit_closed_form, fit_least_squares,
                            fit_procrustes, gain_fraction, infonce_loss, load_aligner, mse_loss, pair_up, read_profiles,
                            save_aligner, speaker_centroids, train_mlp)
from embspace.nessa.losses import AlignmentLoss
from embspace.nessa.mappers import MLP
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError


def run_cli(module: str, *args, check: bool = True) -> SimpleNamespace:
    """``embspace.bin.<module>.main(args)`` in this process (no interpreter start-up); stderr captured."""
    main = importlib.import_module(f"embspace.bin.{module}").main
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:
            rc = e.code
    if check and rc:
        raise AssertionError(f"{module} failed ({rc}): {err.getvalue()}")
    return SimpleNamespace(returncode=rc or 0, stderr=err.getvalue())


# ---------------------------------------------------------------------------- synthetic paired models
def two_models(num_speakers: int, utts: int, seed: int = 0, prefix: str = "s",
               utt2spk: dict[str, str] | None = None) -> dict:
    """Speakers with 6-d latent voices seen by two 'models': X linear (16-d), Y non-linear (12-d), each with
    its own utterance noise. Keys ``<spk>-uNN`` so that Kaldi tables sort consistently, or those of ``utt2spk``."""
    rng = np.random.default_rng(seed)
    proj = np.random.default_rng(123)  # the models themselves are fixed across calls
    ax, ay = proj.standard_normal((16, 6)), proj.standard_normal((12, 6))
    if utt2spk is None:
        utt2spk = {f"{prefix}{s:03d}-u{u:02d}": f"{prefix}{s:03d}" for s in range(num_speakers) for u in range(utts)}
    keys = sorted(utt2spk)
    voices = {s: rng.standard_normal(6) for s in sorted(set(utt2spk.values()))}
    x, y = [], []
    for k in keys:
        voice = voices[utt2spk[k]]
        x.append(ax @ (voice + 0.5 * rng.standard_normal(6)) + 2.0)  # X is the noisier (older) model
        y.append(np.tanh(0.5 * ay @ (voice + 0.3 * rng.standard_normal(6))) + 1.0)
    return {"keys": keys, "spk": [utt2spk[k] for k in keys], "x": np.array(x, np.float32), "y": np.array(y, np.float32)}


def write_set(d: Path, m: dict) -> None:
    for side in ("x", "y"):
        write_embeddings(d / side / "xvector.ark", d / side / "xvector.scp", zip(m["keys"], m[side]))
        kaldiio.save_mat(str(d / side / "mean.vec"), m[side].mean(0))
    (d / "utt2spk").write_text("".join(f"{k} {s}\n" for k, s in zip(m["keys"], m["spk"])))


def all_trials(keys: list[str], spk: list[str]) -> list[tuple[str, str, bool]]:
    return [(keys[i], keys[j], spk[i] == spk[j]) for i in range(len(keys)) for j in range(i + 1, len(keys))]


def write_trials(path: Path, trials) -> Path:
    path.write_text("".join(f"{e} {t} {'target' if y else 'nontarget'}\n" for e, t, y in trials))
    return path


# ---------------------------------------------------------------------------- mappers
def test_least_squares_and_procrustes_recover_a_known_transform():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8))
    w, b = rng.standard_normal((5, 8)), rng.standard_normal(5)
    w_hat, b_hat = fit_least_squares(x, x @ w.T + b, ridge=0.0)
    assert np.allclose(w_hat, w, atol=1e-8) and np.allclose(b_hat, b, atol=1e-8)
    q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert np.allclose(fit_procrustes(x, x @ q.T + 0.01 * rng.standard_normal((200, 8)))[0], q, atol=0.01)
    # through an aligner (no centring: a rotation has no offset): mapped X equals normalised Y
    al = Aligner(aligner_config("procrustes", "x_to_y", 8, 8, center_in=False, l2_in=False))
    fit_closed_form(al, Pairs([str(i) for i in range(200)], x.astype(np.float32), (x @ q.T).astype(np.float32)),
                    ["a"] * 200)
    z, t = apply_numpy(al, "x", x.astype(np.float32)), apply_numpy(al, "y", (x @ q.T).astype(np.float32))
    assert np.allclose((z * t).sum(1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="equal dimensions"):
        aligner_config("procrustes", "x_to_y", 8, 6)


def test_cca_aligns_two_linear_views():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((300, 4))
    x = s @ rng.standard_normal((4, 10)) + 0.01 * rng.standard_normal((300, 10))
    y = s @ rng.standard_normal((4, 7)) + 0.01 * rng.standard_normal((300, 7))
    (wx, bx), (wy, by) = fit_cca(x, y, 4, ridge=1e-6)
    zx, zy = x @ wx.T + bx, y @ wy.T + by
    assert np.corrcoef(zx[:, 0], zy[:, 0])[0, 1] > 0.99 and np.allclose(zx, zy, atol=0.1)


def test_mlp_options_and_residual_start():
    skip = MLP(6, 3, [16], activation="prelu", batchnorm=False, dropout=0.0, linear_skip=True, zero_last=True)
    x = torch.randn(5, 6)
    assert torch.allclose(skip(x), skip.skip(x))  # the untrained network is its linear skip
    plain = MLP(6, 3, [16, 8], activation="gelu", batchnorm=True, dropout=0.2, linear_skip=False).eval()
    assert plain(x).shape == (5, 3) and plain.skip is None
    with pytest.raises(ValueError, match="activation"):
        MLP(6, 3, [4], activation="tanh")
    cfg = aligner_config("mlp", "both_to_z", 6, 4, shared_dim=5, hidden_dims=[8])
    al = Aligner(cfg).eval()
    assert al.z_dim == 5 and apply_numpy(al, "y", np.ones((2, 4), np.float32)).shape == (2, 5)
    assert aligner_config("mlp", "y_to_x", 6, 4)["z_dim"] == 6
    with pytest.raises(ValueError, match="shared_dim"):
        aligner_config("mlp", "both_to_z", 6, 4)
    with pytest.raises(ValueError, match="unknown option"):
        aligner_config("linear", "x_to_y", 6, 4, hidden_dims=[8])


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    al = Aligner(aligner_config("mlp", "x_to_y", 6, 4, hidden_dims=[8])).eval()
    al.set_means(np.arange(6, dtype=np.float32), None)
    save_aligner(al, tmp_path / "m.pt", {"note": "x"})
    back, info = load_aligner(tmp_path / "m.pt")
    e = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    assert info == {"note": "x"} and np.array_equal(apply_numpy(al, "x", e), apply_numpy(back, "x", e))
    ckpt.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="not a NESSA mapper"):
        load_aligner(tmp_path / "other.pt")


# ---------------------------------------------------------------------------- losses
def test_losses():
    z = torch.nn.functional.normalize(torch.randn(8, 5), dim=1)
    assert cosine_loss(z, z).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.nn.functional.normalize(torch.randn(8, 5), dim=1)
    assert mse_loss(z, other).item() == pytest.approx(2 * cosine_loss(z, other).item(), rel=1e-5)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    protos = torch.eye(5)[:4] * 1.0
    aligned = protos[labels] + 0.01 * torch.randn(8, 5)
    assert infonce_loss(aligned, aligned, labels, 0.1) < infonce_loss(aligned, aligned[torch.randperm(8)], labels, 0.1)
    # CLIP form (no labels): the symmetric cross-entropy of the row-matched pairs
    zy = torch.randn(8, 5)
    logits = torch.nn.functional.normalize(z, dim=1) @ torch.nn.functional.normalize(zy, dim=1).T / 0.1
    ce = torch.nn.functional.cross_entropy
    clip = 0.5 * (ce(logits, torch.arange(8)) + ce(logits.T, torch.arange(8)))
    assert infonce_loss(z, zy, None, 0.1).item() == pytest.approx(clip.item(), rel=1e-5)
    loss = AlignmentLoss({"cosine": 1.0, "infonce": 0.5, "speaker": 0.2, "mse": 0.0}, z_dim=5, num_speakers=4)
    zx = aligned.clone().requires_grad_(True)
    total, stats = loss(zx, aligned, labels)
    total.backward()
    assert set(stats) == {"cosine", "infonce", "speaker"} and zx.grad is not None
    expected = stats["cosine"] + 0.5 * stats["infonce"] + 0.2 * stats["speaker"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss"):
        AlignmentLoss({"triplet": 1.0})
    with pytest.raises(ValueError, match="zero"):
        AlignmentLoss({"cosine": 0.0})


# ---------------------------------------------------------------------------- logit space, profiles, G
def test_logit_space_from_centroids_and_classifier(tmp_path):
    m = two_models(6, 5)
    al = Aligner(aligner_config("logit", "x_to_y", 16, 12, num_references=6))
    pairs = Pairs(m["keys"], m["x"], m["y"])
    al.set_means(m["x"].mean(0), m["y"].mean(0))
    fit_closed_form(al, pairs, m["spk"])
    zx, zy = apply_numpy(al, "x", m["x"]), apply_numpy(al, "y", m["y"])
    assert zx.shape == (30, 6)
    # each utterance is most similar (in logit space, across models) to the other model's same-speaker utterances
    sims = zx @ zy.T
    spk = np.array(m["spk"])
    assert (spk[sims.argmax(1)] == spk).mean() >= 0.6  # chance: 1/6
    speakers, cents = speaker_centroids(m["x"], m["spk"])
    assert speakers == sorted(set(m["spk"])) and np.allclose(cents[0], m["x"][:5].mean(0), atol=1e-5)
    weight = torch.randn(4, 16)
    ckpt.save({"network": {"head.weight": weight}}, tmp_path / "ck.pt")
    rows = classifier_reference(tmp_path / "ck.pt", {"a": 2, "b": 0}, ["b", "a"])
    assert np.allclose(rows, weight[[0, 2]].numpy())
    with pytest.raises(DataError, match="key 'c'.*not one of the classifier"):
        classifier_reference(tmp_path / "ck.pt", {"a": 2}, ["c"])
    with pytest.raises(DataError, match="empty reference"):
        classifier_reference(tmp_path / "ck.pt", {"a": 2}, [])
    with pytest.raises(ValueError, match="at least one reference"):
        aligner_config("logit", "x_to_y", 16, 12, num_references=0)


def test_profile_modes(tmp_path):
    rng = np.random.default_rng(0)
    keys = [f"u{i}" for i in range(6)]
    emb = rng.standard_normal((6, 4)).astype(np.float32)
    profiles = {"p1": ["u0", "u1", "u2"], "p2": ["u3"]}
    ident = Aligner(aligner_config("identity", "x_to_y", 4, 4))
    ks, a = embed_side(ident, "x", keys, emb, profiles, "map_then_average")
    _, b = embed_side(ident, "x", keys, emb, profiles, "average_then_map")
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    assert ks == ["p1", "p2"] and np.allclose(a[0], unit[:3].mean(0), atol=1e-6)
    assert np.allclose(a / np.linalg.norm(a, axis=1, keepdims=True), b, atol=1e-6)  # same direction for identity
    torch.manual_seed(0)
    mlp = Aligner(aligner_config("mlp", "x_to_y", 4, 4, hidden_dims=[16], linear_skip=False, batchnorm=False,
                                 dropout=0.0)).eval()
    _, c = embed_side(mlp, "x", keys, emb, profiles, "map_then_average")
    _, d = embed_side(mlp, "x", keys, emb, profiles, "average_then_map")
    mapped = apply_numpy(mlp, "x", emb)
    assert np.allclose(c[0], mapped[:3].mean(0), atol=1e-6) and np.allclose(c[1], d[1], atol=1e-6)
    assert not np.allclose(c[0] / np.linalg.norm(c[0]), d[0], atol=1e-3)  # non-linear: the modes differ
    bad = tmp_path / "profiles"
    bad.write_text("p1 u0 u1\np2\n")
    with pytest.raises(DataError, match=r"profiles:2: key 'p2': profile without utterances"):
        read_profiles(bad)
    with pytest.raises(DataError, match=r"key 'p1': utterance 'zz'.*has no embedding in e.scp"):
        embed_side(ident, "x", keys, emb, {"p1": ["u0", "zz"]}, emb_path="e.scp", profiles_path="profiles")


def test_gain_fraction():
    assert gain_fraction(10.0, 5.0, 7.0) == pytest.approx(0.6)
    assert gain_fraction(10.0, 5.0, 10.0) == 0.0 and gain_fraction(10.0, 5.0, 4.0) == pytest.approx(1.2)
    assert gain_fraction(0.5, 0.5, 0.4) is None
    with pytest.raises(ValueError):
        gain_fraction(float("nan"), 1.0, 1.0)


def test_keys_that_do_not_pair_up_name_file_and_key():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(DataError, match=r"y.scp: key 'b': key of x.scp is missing here"):
        pair_up(["a", "b"], x, ["a", "c"], x, "x.scp", "y.scp")
    with pytest.raises(DataError, match=r"x.scp: key 'c'"):
        pair_up(["a", "b"], x, ["a", "b", "c"], np.ones((3, 3), np.float32), "x.scp", "y.scp")
    with pytest.raises(DataError, match=r"y.scp: key 'b': utterance of utt2spk has no embedding"):
        pair_up(["a", "b"], x, ["a", "c"], x, "x.scp", "y.scp", keys=["a", "b"], keys_path="utt2spk")
    assert pair_up(["a", "b"], x, ["b", "a"], 2 * x, "x", "y").keys == ["a", "b"]


# ---------------------------------------------------------------------------- training: early stopping, resume
def test_early_stopping_keeps_the_best_epoch(tmp_path):
    metrics = iter([5.0, 4.0, 4.5, 4.6, 3.0])
    al = Aligner(aligner_config("identity", "x_to_y", 2, 2))
    stopper = EarlyStopping(lambda a: {"dev_eer": next(metrics)}, tmp_path / "best.pt", patience=2)
    assert [stopper(e, al) for e in range(4)] == [False, False, False, True]
    assert stopper.best == 4.0 and load_aligner(tmp_path / "best.pt")[1]["epoch"] == 1
    state = stopper.state_dict()
    fresh = EarlyStopping(lambda a: {}, tmp_path / "b2.pt", patience=2)
    fresh.load_state_dict(state)
    assert fresh.best == 4.0 and len(fresh.history) == 4


def _train_setup(tmp_path: Path):
    m = two_models(10, 6, seed=3)
    dev_m = two_models(4, 5, seed=4, prefix="d")
    dev = DevSet(write_trials(tmp_path / "dev_trials", all_trials(dev_m["keys"], dev_m["spk"])),
                 Pairs(dev_m["keys"], dev_m["x"], dev_m["y"]))
    return Pairs(m["keys"], m["x"], m["y"]), m["spk"], dev


def _mlp(pairs: Pairs) -> Aligner:
    torch.manual_seed(0)
    al = Aligner(aligner_config("mlp", "both_to_z", 16, 12, shared_dim=8, hidden_dims=[32], dropout=0.1))
    al.set_means(pairs.x.mean(0), pairs.y.mean(0))
    return al


OPTS = TrainOptions(epochs=5, patience=10, spk_per_batch=5, utts_per_spk=3, lr=5e-3, num_threads=1)


def test_mlp_training_learns_and_resumes_exactly(tmp_path, monkeypatch):
    pairs, labels, dev = _train_setup(tmp_path)
    before = dev.evaluate(_mlp(pairs))["dev_eer"]
    clean, info = train_mlp(_mlp(pairs), pairs, labels, dev, OPTS, tmp_path / "clean")
    assert info["dev_history"][0]["epoch"] == 0 and len(info["dev_history"]) == 6
    assert min(h["dev_eer"] for h in info["dev_history"]) < before
    # kill after epoch 3's model file (before its checkpoint): the rerun resumes from epoch 2's checkpoint
    real_call = EarlyStopping.__call__

    def dying(self, epoch, network):
        if epoch == 3:
            raise KeyboardInterrupt
        return real_call(self, epoch, network)

    monkeypatch.setattr(EarlyStopping, "__call__", dying)
    with pytest.raises(KeyboardInterrupt):
        train_mlp(_mlp(pairs), pairs, labels, dev, OPTS, tmp_path / "killed")
    monkeypatch.setattr(EarlyStopping, "__call__", real_call)
    resumed, info2 = train_mlp(_mlp(pairs), pairs, labels, dev, OPTS, tmp_path / "killed")
    assert info2["dev_history"] == info["dev_history"]
    for k, v in clean.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    # a finished run is not trained again
    again, info3 = train_mlp(_mlp(pairs), pairs, labels, dev, OPTS, tmp_path / "killed")
    assert info3["epochs_run"] == 5 and info3["dev_history"] == info["dev_history"]


# ---------------------------------------------------------------------------- CLIs
@pytest.fixture(scope="module")
def cli_setup(tmp_path_factory) -> dict:
    """Train/test sets of two synthetic models, dev split, profiles, and trained mappers (CLIs)."""
    root = tmp_path_factory.mktemp("nessa")
    train, test = two_models(14, 6, seed=1), two_models(6, 6, seed=2, prefix="t")
    write_set(root / "train", train)
    write_set(root / "test", test)
    run_cli("nessa_split", "--utt2spk", root / "train" / "utt2spk", "--num-dev-speakers", "3", "--out-dir", root / "lists")
    d = root / "test"
    (d / "wav.scp").write_text("".join(f"{k} /dev/null\n" for k in test["keys"]))
    fix_data_dir(d)  # spk2utt, as every data dir has
    run_cli("make_trials", "--data-dir", d, "--out", d / "trials", "--profiles-out", d / "profiles",
            "--profile-trials-out", d / "trials_profiles", "--utts-per-profile", "2", "--profiles-per-speaker", "1")
    common = ["--x-scp", root / "train" / "x" / "xvector.scp", "--y-scp", root / "train" / "y" / "xvector.scp",
              "--utt2spk", root / "lists" / "train" / "utt2spk", "--dev-trials", root / "lists" / "dev" / "trials",
              "--x-name", "old", "--y-name", "new"]
    cfg = root / "nessa.yaml"
    cfg.write_text("mapper: mlp\ndirection: x_to_y\nhidden_dims: [32]\nepochs: 4\nspk_per_batch: 6\nloss: {cosine: 1, infonce: 1}\n")
    run_cli("nessa_train", "--config", cfg, *common, "--num-threads", "1", "--exp-dir", root / "nessa")
    run_cli("nessa_train", "--mapper", "logit", *common, "--exp-dir", root / "logit")
    run_cli("nessa_train", "--mapper", "linear", "--direction", "both_to_z", "--shared-dim", "6", *common,
            "--exp-dir", root / "cca")
    return {"root": root, "train": train, "test": test, "common": common}


def test_cli_split_profiles_and_training_outputs(cli_setup):
    root = cli_setup["root"]
    train_u2s = (root / "lists" / "train" / "utt2spk").read_text().split("\n")
    dev_trials = (root / "lists" / "dev" / "trials").read_text().splitlines()
    assert len([x for x in train_u2s if x]) == 11 * 6 and len(dev_trials) == 18 * 17 // 2
    profiles = read_profiles(root / "test" / "profiles")
    assert list(profiles)[0] == "t000-enroll1" and all(len(u) == 2 for u in profiles.values())
    ptrials = (root / "test" / "trials_profiles").read_text().splitlines()
    assert len(ptrials) == 6 * 24 and sum(line.endswith(" target") for line in ptrials) == 24
    summary = json.loads((root / "nessa" / "summary.json").read_text())
    assert summary["mapper"] == "mlp" and summary["num_train_speakers"] == 11 and "dev_eer" in summary["dev"]
    aligner, info = load_aligner(root / "nessa" / "mapper.pt")
    assert aligner.config["hidden_dims"] == [32] and info["x_name"] == "old"


def test_cli_apply_writes_a_mapped_scp_and_checks_dimensions(cli_setup):
    root = cli_setup["root"]
    out = root / "applied"
    run_cli("nessa_apply", "--mapper", root / "nessa" / "mapper.pt", "--side", "x",
            "--scp", root / "test" / "x" / "xvector.scp", "--out-dir", out)
    keys, z = read_embeddings(out / "xvector.scp")
    assert keys == cli_setup["test"]["keys"] and z.shape == (36, 12) and np.allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    run_cli("nessa_apply", "--mapper", root / "nessa" / "mapper.pt", "--side", "x", "--scp", root / "test" / "x" / "xvector.scp",
            "--profiles", root / "test" / "profiles", "--profile-mode", "average_then_map", "--out-dir", root / "applied_p")
    assert read_embeddings(root / "applied_p" / "xvector.scp")[0][0] == "t000-enroll1"
    before = (out / "xvector.scp").read_bytes()
    bad = run_cli("nessa_apply", "--mapper", root / "nessa" / "mapper.pt", "--side", "y",  # y is 12-d, x 16-d
                  "--scp", root / "test" / "x" / "xvector.scp", "--out-dir", out, check=False)
    assert bad.returncode == 1
    assert f"{root / 'test' / 'x' / 'xvector.scp'}: key 't000-u00': embedding dimension 16 does not match" in bad.stderr
    assert (out / "xvector.scp").read_bytes() == before
    bad = root / "bad_profiles"
    bad.write_text("p1\n")
    proc = run_cli("nessa_apply", "--mapper", root / "nessa" / "mapper.pt", "--side", "x", "--scp",
                   root / "test" / "x" / "xvector.scp", "--profiles", bad, "--out-dir", out, check=False)
    assert proc.returncode == 1 and f"{bad}:1: key 'p1': profile without utterances" in proc.stderr


def test_cli_train_bad_inputs(cli_setup, tmp_path):
    root, common = cli_setup["root"], cli_setup["common"]
    lines = (root / "train" / "y" / "xvector.scp").read_text().splitlines()
    short = tmp_path / "y.scp"
    short.write_text("\n".join(lines[1:]) + "\n")  # the first training utterance has no Y embedding
    args = [str(a) for a in common]
    args[args.index("--y-scp") + 1] = str(short)
    proc = run_cli("nessa_train", "--mapper", "linear", *args, "--exp-dir", tmp_path / "o", check=False)
    assert proc.returncode == 1 and f"{short}: key '{lines[0].split()[0]}'" in proc.stderr
    assert not (tmp_path / "o").exists()
    spk2id = tmp_path / "spk2id.json"
    spk2id.write_text("{}")
    ckpt.save({"network": {"head.weight": torch.randn(3, 16)}}, tmp_path / "ck.pt")
    proc = run_cli("nessa_train", "--mapper", "logit", "--reference", "classifier", *common, "--x-classifier", tmp_path / "ck.pt",
                   "--y-classifier", tmp_path / "ck.pt", "--x-spk2id", spk2id, "--y-spk2id", spk2id,
                   "--exp-dir", tmp_path / "o", check=False)
    assert proc.returncode == 1 and "not one of the classifier's speakers" in proc.stderr
    cfg = tmp_path / "c.yaml"
    cfg.write_text("hidden_size: 3\n")
    proc = run_cli("nessa_train", "--config", cfg, *common, "--exp-dir", tmp_path / "o", check=False)
    assert proc.returncode == 1 and f"{cfg}: key 'hidden_size': unknown option" in proc.stderr


def test_cli_evaluate_rows_and_gain(cli_setup):
    root = cli_setup["root"]
    results = root / "results.json"
    results.write_text(json.dumps({"rows": [{"system": "keep", "method": "baseline", "trials": "t", "eer": 1.0,
                                             "mindcf_0.01": 0.1, "mindcf_0.05": 0.1, "score_file": "x"},
                                            {"system": "new", "method": "baseline", "trials": "single", "eer": 9.0,
                                             "mindcf_0.01": 0.9, "mindcf_0.05": 0.9, "score_file": "backbone.score"}]}))
    run_cli("nessa_evaluate", "--old", f"old={root / 'test' / 'x' / 'xvector.scp'}",
                   "--new", f"new={root / 'test' / 'y' / 'xvector.scp'}",
                   "--old-mean", root / "train" / "x" / "mean.vec", "--new-mean", root / "train" / "y" / "mean.vec",
                   "--mapper", f"nessa={root / 'nessa' / 'mapper.pt'}", "--mapper", f"logit={root / 'logit' / 'mapper.pt'}",
                   "--mapper", f"cca={root / 'cca' / 'mapper.pt'}",
                   "--trials", f"single={root / 'test' / 'trials'}", "--profile-trials", f"prof={root / 'test' / 'trials_profiles'}",
                   "--profiles", root / "test" / "profiles", "--profile-modes", "map_then_average", "average_then_map",
                   "--out-dir", root / "eval", "--results", results)
    rows = {(r["system"], r["trials"]): r for r in json.loads(results.read_text())["rows"]}
    assert ("keep", "t") in rows  # other rows are kept
    assert rows[("new", "single")]["score_file"] == "backbone.score"  # a symmetric row the backbone wrote is its own
    assert rows[("new", "prof")]["score_file"].startswith(str(root / "eval"))
    assert rows[("old", "single")]["method"] == "baseline" and rows[("new", "prof")]["scoring"] == "cosine"
    asym = [r for r in rows.values() if r["method"] == "nessa"]
    # single: 2 directions x 3 mappers; profiles: x 2 modes; no raw rows (16-d vs 12-d)
    assert len(asym) == 6 + 12 and not any(r["scoring"] == "raw" for r in asym)
    for r in asym:
        o = rows[("old", r["trials"])]
        n = json.loads((root / "eval" / r["trials"] / "new.metrics.json").read_text())  # what G was computed from
        assert r["baseline"] == "old" and Path(r["score_file"]).is_file()
        assert r["gain_fraction"] == pytest.approx((o["eer"] - r["eer"]) / (o["eer"] - n["eer"]), abs=1e-3)
        assert r["gain_fraction_mindcf"] == pytest.approx(
            (o["mindcf_0.01"] - r["mindcf_0.01"]) / (o["mindcf_0.01"] - n["mindcf_0.01"]), abs=1e-3)
    assert rows[("old/new.nessa.average_then_map", "prof")]["profile_mode"] == "average_then_map"
    # the mapped cross-model systems work far better than chance
    assert rows[("old/new.nessa", "single")]["eer"] < 30 and rows[("new/old.cca", "single")]["eer"] < 30  # chance: 50
    assert json.loads((root / "eval" / "rows.json").read_text())["rows"][0]["system"] == "old"
    bad = run_cli("nessa_evaluate", "--old", f"old={root / 'test' / 'y' / 'xvector.scp'}",
                  "--new", f"new={root / 'test' / 'y' / 'xvector.scp'}", "--old-mean", root / "train" / "y" / "mean.vec",
                  "--new-mean", root / "train" / "y" / "mean.vec", "--mapper", f"nessa={root / 'nessa' / 'mapper.pt'}",
                  "--trials", f"single={root / 'test' / 'trials'}", "--out-dir", root / "eval2", "--results", results,
                  check=False)
    assert bad.returncode == 1 and "does not match the x input of" in bad.stderr and not (root / "eval2").exists()


# ---------------------------------------------------------------------------- profile mode chosen on dev
def test_profile_mode_choice_is_the_dev_minimum():
    class FixedDev:  # dev EER per mode, as DevProfiles.evaluate returns it
        def __init__(self, eer: dict[str, float]) -> None:
            self.eer = eer

        def evaluate(self, aligner, mode: str) -> float:
            return self.eer[mode]

    al = Aligner(aligner_config("identity", "x_to_y", 2, 2))
    for eer in ({"map_then_average": 3.0, "average_then_map": 2.5}, {"map_then_average": 2.0, "average_then_map": 2.5}):
        chosen, dev_eer = choose_profile_mode(al, FixedDev(eer))
        assert chosen == min(eer, key=eer.get) and dev_eer == eer
    assert choose_profile_mode(al, FixedDev({m: 1.0 for m in PROFILE_MODES}))[0] == "map_then_average"  # a tie


def _dev_profiles(cli_setup, tmp_path: Path) -> tuple[Path, Path]:
    """Profiles of the dev speakers (2 utterances each) and their profile trials, from nessa_split."""
    root, out = cli_setup["root"], tmp_path / "lists"
    run_cli("nessa_split", "--utt2spk", root / "train" / "utt2spk", "--num-dev-speakers", "3", "--out-dir", out,
            "--utts-per-profile", "2", "--profiles-per-speaker", "2")
    for name in ("train/utt2spk", "dev/utt2spk", "dev/trials"):  # the same split as without profiles
        assert (out / name).read_text() == (root / "lists" / name).read_text()
    profiles = read_profiles(out / "dev" / "profiles")
    dev_u2s = dict(line.split() for line in (out / "dev" / "utt2spk").read_text().splitlines())
    assert len(profiles) == 3 * 2 and all(len(u) == 2 and len({dev_u2s[x] for x in u}) == 1 for u in profiles.values())
    trials = [line.split() for line in (out / "dev" / "trials_profiles").read_text().splitlines()]
    enrolled = {u for utts in profiles.values() for u in utts}
    assert len(trials) == 6 * (len(dev_u2s) - len(enrolled)) and not {t for _, t, _ in trials} & enrolled
    assert all((lab == "target") == (dev_u2s[profiles[p][0]] == dev_u2s[t]) for p, t, lab in trials)
    return out / "dev" / "profiles", out / "dev" / "trials_profiles"


def test_cli_profile_mode_chosen_on_dev_names_the_test_row(cli_setup, tmp_path):
    root = cli_setup["root"]
    profiles, profile_trials = _dev_profiles(cli_setup, tmp_path)
    cfg = ["--mapper", "mlp", "--direction", "x_to_y", "--hidden-dims", "32", "--epochs", "3", "--spk-per-batch", "6",
           "--num-threads", "1"]
    run_cli("nessa_train", *cfg, *cli_setup["common"], "--dev-profiles", profiles,
            "--dev-profile-trials", profile_trials, "--exp-dir", tmp_path / "nessa")
    summary = json.loads((tmp_path / "nessa" / "summary.json").read_text())["profile_mode"]
    alone = run_cli("nessa_train", *cfg, *cli_setup["common"], "--dev-profiles", profiles, "--exp-dir", tmp_path / "x",
                    check=False)
    assert alone.returncode == 1 and "go together" in alone.stderr and not (tmp_path / "x").exists()
    # recomputed here from the saved mapper: the recorded choice is the dev minimum
    aligner, info = load_aligner(tmp_path / "nessa" / "mapper.pt")
    train = cli_setup["train"]
    pairs = Pairs(train["keys"], train["x"], train["y"])
    dev = DevProfiles(profile_trials, read_profiles(profiles), profiles, pairs)
    eer = {m: dev.evaluate(aligner, m) for m in PROFILE_MODES}
    assert summary["dev_eer"] == pytest.approx(eer) and summary["chosen"] == min(PROFILE_MODES, key=eer.get)
    assert info["profile_mode"]["chosen"] == summary["chosen"]  # also in the mapper file
    chosen = summary["chosen"]
    common = ["--old", f"old={root / 'test' / 'x' / 'xvector.scp'}", "--new", f"new={root / 'test' / 'y' / 'xvector.scp'}",
              "--old-mean", root / "train" / "x" / "mean.vec", "--new-mean", root / "train" / "y" / "mean.vec",
              "--mapper", f"nessa={tmp_path / 'nessa' / 'mapper.pt'}", "--profiles", root / "test" / "profiles",
              "--profile-trials", f"prof={root / 'test' / 'trials_profiles'}"]
    run_cli("nessa_evaluate", *common, "--profile-modes", "dev", "--out-dir", tmp_path / "eval",
            "--results", tmp_path / "results.json")
    rows = {r["system"]: r for r in json.loads((tmp_path / "results.json").read_text())["rows"]}
    assert sorted(rows) == sorted(["old", "new", f"old/new.nessa.{chosen}", f"new/old.nessa.{chosen}"])
    row = rows[f"old/new.nessa.{chosen}"]
    assert row["profile_mode"] == chosen and row["profile_mode_selected_on"] == "dev"
    run_cli("nessa_evaluate", *common, "--profile-modes", chosen, "--out-dir", tmp_path / "explicit",
            "--results", tmp_path / "explicit.json")
    explicit = {r["system"]: r for r in json.loads((tmp_path / "explicit.json").read_text())["rows"]}
    assert row["eer"] == explicit["old/new.nessa"]["eer"]  # the same system as scoring that mode by name
    # a mapper trained without a dev profile list has no choice to use
    bad = run_cli("nessa_evaluate", *common[:8], "--mapper", f"nessa={root / 'nessa' / 'mapper.pt'}", *common[10:],
                  "--profile-modes", "dev", "--out-dir", tmp_path / "bad", "--results", tmp_path / "bad.json", check=False)
    assert bad.returncode == 1 and "no profile mode chosen on a dev list" in bad.stderr and not (tmp_path / "bad").exists()
    mixed = run_cli("nessa_evaluate", *common, "--profile-modes", "dev", "map_then_average", "--out-dir", tmp_path / "m",
                    "--results", tmp_path / "m.json", check=False)
    assert mixed.returncode == 2 and "cannot be combined" in mixed.stderr
