"""SEED: schedule, network, normalisation, enhancement, copy plan, training (exact resume) and
the CLIs' handling of bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from embspace.embio import read_embeddings, write_embeddings
from embspace.seed import (Enhancer, NoiseSchedule, SeedMLP, SeedObjective, build_objective, config_from_dict,
                           dev_set, enhance_table, keyed_noise, load_config, load_seed_model, plan_copies,
                           scaled_linear_alphas_cumprod, timestep_embedding, training_pairs)
from embspace.seed.config import DataConfig
from embspace.seed.data import copy_key, parse_copy_key
from embspace.seed.enhance import ddim_timesteps
from embspace.seed.norm import for_inference, for_training
from embspace.utils.errors import DataError
from embspace.bin import merge_embeddings, seed_enhance, seed_train


# ---------------------------------------------------------------------------------------- schedule, model

def test_schedule_values():
    ab = scaled_linear_alphas_cumprod()
    assert ab.shape == (1000,) and bool((ab[1:] < ab[:-1]).all())
    assert math.isclose(float(ab[50]), 0.99084, abs_tol=5e-5)
    assert math.isclose(float(ab[100]), 0.9712, abs_tol=5e-4)
    assert math.isclose(float(ab[500]), 0.331, abs_tol=1e-3)
    assert math.isclose(float(ab[999]), 7.3e-4, rel_tol=0.02)
    s = NoiseSchedule()
    x0, eps = torch.ones(2, 4), torch.zeros(2, 4)
    assert torch.allclose(s.add_noise(x0, eps, torch.tensor([50, 50])), torch.full((2, 4), 0.99084 ** 0.5), atol=1e-4)


def test_network_is_zero_at_init_and_takes_a_batch_of_one():
    torch.manual_seed(0)
    m = SeedMLP(256)
    assert sum(p.numel() for p in m.parameters()) == 2_437_888  # the authors' layer shapes for D = 256
    assert sum(p.numel() for p in SeedMLP(512).parameters()) == 9_725_440
    for b in (1, 5):
        y = m(torch.randn(b, 256), torch.randint(0, 1000, (b,)))
        assert y.shape == (b, 256) and not y.any()
    m(torch.randn(1, 256), torch.tensor([3])).sum().backward()  # zero output layers still get gradients
    assert m.out.weight.grad.abs().sum() > 0
    x = torch.randn(3, 16)
    assert torch.equal(SeedMLP(16, skip=True)(x, torch.tensor(50)), x)  # the skip variant starts as the identity


MINI_CONF = Path(__file__).resolve().parents[1] / "egs" / "mini" / "v1" / "conf"


def _drawn_timesteps(objective, n: int) -> torch.Tensor:
    """The timesteps ``objective`` draws for ``n`` training pairs (recorded at the network's input)."""
    seen = []
    hook = objective.model.register_forward_pre_hook(lambda mod, args: seen.append(args[1].clone()))
    try:
        x = torch.randn(n, objective.model.dim)
        objective(x, x)
    finally:
        hook.remove()
    return torch.cat(seen)


def test_paper_config_builds_the_published_network_and_draws_t_over_the_whole_schedule():
    cfg = load_config(MINI_CONF / "seed_paper.yaml")
    objective = build_objective(cfg, 256)
    model = objective.model
    assert (model.dim, model.width, len(model.blocks), model.skip) == (256, 512, 3, False)
    assert model.input.weight.shape == (512, 256) and model.out.weight.shape == (256, 512)
    assert sum(p.numel() for p in model.parameters()) == 2_437_888  # the authors' ECAPA count
    assert cfg.normalisation == "official" and cfg.optimizer == {"lr": 5e-4, "weight_decay": 5e-5}
    assert (cfg.inference.t_star, cfg.inference.ddim_steps) == (50, 0)
    torch.manual_seed(0)
    t = _drawn_timesteps(objective, 20000)
    assert int(t.min()) == 0 and int(t.max()) == 999  # every timestep of T = 1000 can be drawn
    counts = torch.bincount(t, minlength=1000).reshape(10, 100).sum(1).float()  # uniform over deciles
    assert bool(((counts - 2000).abs() < 250).all()), counts


def test_tuned_config_differs_from_the_paper_as_documented():
    tuned = build_objective(load_config(MINI_CONF / "seed_mini.yaml"), 256)
    assert (tuned.model.width, len(tuned.model.blocks), tuned.model.skip) == (256, 2, True)
    torch.manual_seed(0)
    assert int(_drawn_timesteps(tuned, 5000).max()) < 200


def test_timestep_embedding():
    e = timestep_embedding(torch.tensor([0, 7]), 8)
    assert e.shape == (2, 8)
    assert torch.equal(e[0], torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]))
    assert math.isclose(float(e[1, 0]), math.cos(7.0), abs_tol=1e-6)


def test_normalisation_modes():
    x = torch.randn(4, 9) * 5
    norms = lambda y: y.norm(dim=-1)  # noqa: E731
    assert torch.allclose(norms(for_training(x, "sqrt_d")), torch.full((4,), 3.0))
    assert torch.allclose(norms(for_inference(x, "sqrt_d")), torch.full((4,), 3.0))
    assert torch.equal(for_training(x, "none"), x) and torch.equal(for_inference(x, "none"), x)
    assert torch.equal(for_training(x, "official"), x)  # the authors' code: raw in training...
    assert torch.allclose(norms(for_inference(x, "official")), torch.full((4,), 3.0))  # ...l2 * sqrt(D) at inference


# ---------------------------------------------------------------------------------------- enhancement

def _random_model(dim: int = 6, seed: int = 0) -> SeedMLP:
    torch.manual_seed(seed)
    m = SeedMLP(dim, num_blocks=2)
    for p in m.parameters():  # non-zero output layers, so that outputs depend on the input
        torch.nn.init.normal_(p, std=0.3)
    return m.eval()


def test_keyed_noise_depends_on_seed_and_key_only():
    a = keyed_noise(["u1", "u2", "u3"], 5, 2, 4)
    b = keyed_noise(["u3", "u1"], 5, 2, 4)
    assert a.shape == (2, 3, 4) and np.array_equal(a[:, 0], b[:, 1]) and np.array_equal(a[:, 2], b[:, 0])
    assert not np.array_equal(a, keyed_noise(["u1", "u2", "u3"], 6, 2, 4))


def test_enhancement_is_independent_of_batching_and_averages_draws():
    enh = Enhancer(_random_model(), NoiseSchedule(), "sqrt_d")
    keys = [f"u{i}" for i in range(7)]
    emb = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32)
    full = enhance_table(enh, keys, emb, seed=3, t_star=50, num_draws=3)
    one = enhance_table(enh, keys, emb, seed=3, t_star=50, num_draws=3, batch_size=1)
    np.testing.assert_allclose(full, one, atol=1e-5)
    x = torch.from_numpy(emb)
    noise = torch.from_numpy(keyed_noise(keys, 3, 3, 6))
    singles = [enh(x, noise[k:k + 1]) for k in range(3)]
    np.testing.assert_allclose(full, torch.stack(singles).mean(0).numpy(), atol=1e-5)
    assert not np.allclose(singles[0].numpy(), singles[1].numpy())  # the draws differ
    assert float(enh(x, noise[:1], t_star=50).abs().max()) <= 3 * math.sqrt(6) + 1e-5  # clamp to ±3√D


def test_ddim_chain():
    assert ddim_timesteps(200, 4) == [200, 150, 100, 50] and ddim_timesteps(50, 0) == [50]
    s = NoiseSchedule()
    x0 = torch.randn(3, 5)
    x_t = s.add_noise(x0, torch.randn(3, 5), torch.full((3,), 200))
    # with a perfect x0 predictor, every DDIM step stays on the path and the last returns x0
    x_prev = s.ddim_step(x_t, x0, torch.full((3,), 200), torch.full((3,), 100))
    eps = (x_t - s.alphas_cumprod[200].sqrt().float() * x0) / (1 - s.alphas_cumprod[200]).sqrt().float()
    assert torch.allclose(x_prev, s.add_noise(x0, eps, torch.full((3,), 100)), atol=1e-5)
    assert torch.allclose(s.ddim_step(x_t, x0, torch.full((3,), 200), torch.full((3,), -1)), x0, atol=1e-6)

    class Oracle(SeedMLP):
        def forward(self, x_t, t):
            return target

    target = torch.randn(3, 5)
    enh = Enhancer(Oracle(5), s, "none", clip_sample=False)
    out = enh(torch.randn(3, 5), torch.randn(2, 3, 5), t_star=200, ddim_steps=4)
    assert torch.allclose(out, target, atol=1e-6)


# ---------------------------------------------------------------------------------------- config, data plan

def test_config_rejects_bad_values(tmp_path):
    assert config_from_dict({}).inference.t_star == 50
    for raw, key in (({"normalisation": "l2"}, "normalisation"), ({"inference": {"t_star": 1000}}, "inference.t_star"),
                     ({"diffusion": {"t_min": 5, "t_max": 5}}, "diffusion.t_max"), ({"model": {"widht": 2}}, "model"),
                     ({"epoch": 3}, "epoch"), ({"data": {"kinds": ["babble"]}}, "data.kinds")):
        with pytest.raises(DataError, match=f"key '{key}'"):
            config_from_dict(raw, tmp_path / "c.yaml")


def _utt2spk(num_spk: int = 10, utts: int = 4) -> dict[str, str]:
    return {f"s{s:02d}-u{u}": f"s{s:02d}" for s in range(num_spk) for u in range(utts)}


def test_copy_plan_and_pairs():
    u2s = _utt2spk()
    cfg = DataConfig(dev_speakers=3, aug_utts_per_speaker=2, dev_utts_per_speaker=3)
    plan = plan_copies(u2s, cfg, seed=1)
    assert plan == plan_copies(dict(reversed(list(u2s.items()))), cfg, seed=1)  # a function of the content only
    assert len(plan.dev_speakers) == 3 and len(plan.train_utts) == 14 and len(plan.dev_utts) == 9
    assert not {u2s[u] for u in plan.train_utts} & set(plan.dev_speakers)
    assert parse_copy_key(copy_key("a@b-1", "music", 2)) == ("a@b-1", "music", 2)
    rng = np.random.default_rng(0)
    clean = {u: rng.standard_normal(4).astype(np.float32) for u in u2s}
    copies = {k: rng.standard_normal(4).astype(np.float32) for k in plan.copy_keys(("noise", "reverb"), 1)}
    x, y = training_pairs(clean, copies, u2s, plan)
    assert len(x) == 7 * 4 + 14 * 2  # clean pairs of the 7 training speakers + their copies
    k = copy_key(plan.train_utts[0], "noise", 0)
    row = next(i for i in range(len(x)) if np.array_equal(x[i], copies[k]))
    assert np.array_equal(y[row], clean[plan.train_utts[0]])
    dev = dev_set(clean, copies, u2s, plan)
    e, t, target = dev.lists["augmented"]
    src = [parse_copy_key(dev.keys[j])[0] for j in t]
    assert all(dev.keys[i] != s for i, s in zip(e, src)) and target.any() and not target.all()
    assert len(dev.lists["conventional"][0]) == 12 * 11 // 2


# ---------------------------------------------------------------------------------------- training and the CLIs

TINY = {"seed": 3, "model": {"width_mult": 2, "num_blocks": 1}, "batch_size": 16, "epochs": 3, "keep_last": 1,
        "save_every_steps": 4, "data": {"dev_speakers": 3, "aug_utts_per_speaker": 2, "dev_utts_per_speaker": 2}}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, Path]:
    """Speaker clusters in 8 dims: clean embeddings, 'augmented' copies (shifted + noisy), a fake extractor file."""
    root = tmp_path_factory.mktemp("seedtables")
    rng = np.random.default_rng(0)
    u2s = _utt2spk(10, 5)
    centre = {s: rng.standard_normal(8) * 2 for s in set(u2s.values())}
    shift = rng.standard_normal(8)
    clean = {u: (centre[s] + 0.5 * rng.standard_normal(8)).astype(np.float32) for u, s in u2s.items()}
    cfg = config_from_dict(TINY)
    plan = plan_copies(u2s, cfg.data, cfg.seed)
    copies = {k: (clean[parse_copy_key(k)[0]] + shift + 0.7 * rng.standard_normal(8)).astype(np.float32)
              for k in plan.copy_keys(cfg.data.kinds, 1)}
    write_embeddings(root / "sets" / "clean" / "xvector.ark", root / "sets" / "clean" / "xvector.scp", sorted(clean.items()))
    write_embeddings(root / "copies.ark", root / "copies.scp", sorted(copies.items()))
    (root / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(u2s.items())))
    (root / "seed.yaml").write_text(yaml.safe_dump(TINY))
    (root / "extractor.pt").write_bytes(b"pretend encoder A")
    (root / "other.pt").write_bytes(b"pretend encoder B")
    return {"root": root, "clean": root / "sets" / "clean" / "xvector.scp", "copies": root / "copies.scp", "utt2spk": root / "utt2spk",
            "config": root / "seed.yaml", "extractor": root / "extractor.pt", "other": root / "other.pt"}


def _train_args(t: dict, exp: Path) -> list[str]:
    return [str(a) for a in ("--config", t["config"], "--clean-scp", t["clean"], "--copies-scp", t["copies"],
                             "--utt2spk", t["utt2spk"], "--extractor", t["extractor"], "--exp-dir", exp)]


def _enhance(*args, capsys=None) -> tuple[int, str]:
    """``seed_enhance.main`` in this process: (exit code, stderr)."""
    try:
        rc = seed_enhance.main([str(a) for a in args])
    except SystemExit as e:
        rc = e.code
    return rc, capsys.readouterr().err if capsys else ""


@pytest.fixture(scope="module")
def trained(tables, tmp_path_factory) -> Path:
    exp = tmp_path_factory.mktemp("seedexp")
    assert seed_train.main(_train_args(tables, exp)) == 0
    return exp


def test_training_selects_on_dev_and_records_the_extractor(trained, tables):
    sel = json.loads((trained / "selection.json").read_text())
    assert len(sel["epochs"]) == 3 and len(sel["dev_speakers"]) == 3
    scores = [e["score"] for e in sel["epochs"]]
    assert sel["best_epoch"] == 1 + scores.index(min(scores)), "the dev minimum (earliest on ties) is chosen"
    for e in sel["epochs"]:  # the score is the mean dev EER over the dev lists
        assert e["score"] == pytest.approx(np.mean([m["eer"] for k, m in e.items() if isinstance(m, dict)]))
    state = torch.load(trained / "seed_model.pt", weights_only=True)
    assert state["epoch"] == sel["best_epoch"] and state["seed"]["dim"] == 8
    assert state["extractor"]["name"] == str(tables["extractor"]) and len(state["extractor"]["sha256"]) == 64
    assert sorted(p.name for p in (trained / "models").glob("model_*.pt")) == ["model_3.pt"]  # keep_last 1


def test_training_resumes_exactly(trained, tables, tmp_path, monkeypatch):
    from embspace.training.trainer import Trainer

    real_step = Trainer._step

    def dying_step(self, batch):
        if self.global_step == 9:  # mid-epoch 2, after the checkpoint of step 8
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(Trainer, "_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        seed_train.main(_train_args(tables, tmp_path))
    monkeypatch.setattr(Trainer, "_step", real_step)
    assert seed_train.main(_train_args(tables, tmp_path)) == 0
    a = torch.load(trained / "models" / "model_3.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "models" / "model_3.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (trained / "selection.json").read_text() == (tmp_path / "selection.json").read_text()


def test_enhance_cli_matches_library_and_is_independent_of_nj(trained, tables, tmp_path):
    model = trained / "seed_model.pt"
    for nj in (1, 2, 60):  # 60 jobs for 50 utterances: 10 of them have none and write empty parts
        for job in range(1, nj + 1):
            assert _enhance("--model", model, "--extractor", tables["extractor"], "--in-root", tables["clean"].parents[1],
                            "--out-root", tmp_path / f"nj{nj}", "--job", job, "--nj", nj, "--eval-seed", 4, "clean")[0] == 0
        merge_embeddings.main(["--dir", str(tmp_path / f"nj{nj}" / "clean"), "--nj", str(nj)])
    k1, e1 = read_embeddings(tmp_path / "nj1" / "clean" / "xvector.scp")
    k2, e2 = read_embeddings(tmp_path / "nj2" / "clean" / "xvector.scp")
    k60, e60 = read_embeddings(tmp_path / "nj60" / "clean" / "xvector.scp")
    assert k1 == k2 == k60
    np.testing.assert_allclose(e1, e2, atol=1e-6)  # equal up to float rounding of different batch sizes
    np.testing.assert_allclose(e1, e60, atol=1e-6)
    keys, emb = read_embeddings(tables["clean"])
    enh, meta = load_seed_model(model)
    np.testing.assert_allclose(e1, enhance_table(enh, keys, emb, 4, 50), atol=1e-6)
    assert not np.allclose(e1, emb)


def test_enhance_one_scp_anywhere_equals_the_set_form(trained, tables, tmp_path, capsys):
    model = trained / "seed_model.pt"
    assert _enhance("--model", model, "--in-root", tables["clean"].parents[1], "--out-root", tmp_path / "sets",
                    "--eval-seed", 4, "clean")[0] == 0
    assert _enhance("--model", model, "--scp", tables["clean"], "--out-dir", tmp_path / "anywhere", "--eval-seed", 4)[0] == 0
    k1, e1 = read_embeddings(tmp_path / "sets" / "clean" / "xvector.1.scp")
    k2, e2 = read_embeddings(tmp_path / "anywhere" / "xvector.scp")
    assert k1 == k2 and np.array_equal(e1, e2)
    for bad in (("--scp", tables["clean"]), ("--scp", tables["clean"], "--out-dir", tmp_path / "x", "clean"),
                ("--scp", tables["clean"], "--out-dir", tmp_path / "x", "--nj", 2), ("--in-root", tmp_path)):
        assert _enhance("--model", model, *bad, capsys=capsys)[0] == 2
    assert not (tmp_path / "x").exists()


def _bad_scp(tmp_path: Path, tables, fn) -> Path:
    """The clean table rewritten through ``fn(keys, emb) -> rows`` with kaldiio (no checks)."""
    keys, emb = read_embeddings(tables["clean"])
    (tmp_path / "in" / "bad").mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path / 'in/bad/xvector.ark'},{tmp_path / 'in/bad/xvector.scp'}") as w:
        for k, v in fn(list(keys), emb.copy()):
            w(k, v)
    return tmp_path / "in" / "bad" / "xvector.scp"


@pytest.mark.parametrize("case", ["nan", "zero", "dim"])
def test_enhance_refuses_bad_embeddings(trained, tables, tmp_path, capsys, case):
    def corrupt(keys, emb):
        if case == "nan":
            emb[3, 2] = np.nan
        elif case == "zero":
            emb[3] = 0
        else:
            emb = emb[:, :6]
        return list(zip(keys, emb))

    bad = _bad_scp(tmp_path, tables, corrupt)
    out = tmp_path / "out" / "bad"
    out.mkdir(parents=True)
    (out / "xvector.1.scp").write_text("previous\n")
    rc, err = _enhance("--model", trained / "seed_model.pt", "--in-root", tmp_path / "in", "--out-root", out.parent, "bad",
                       capsys=capsys)
    assert rc == 1
    keys = read_embeddings(tables["clean"])[0]
    key = keys[0] if case == "dim" else keys[3]
    assert err.startswith("seed_enhance: error: ") and f"{bad}: key '{key}'" in err, err
    assert {"nan": "NaN", "zero": "all zeros", "dim": "differs from the SEED model's 8"}[case] in err
    assert (out / "xvector.1.scp").read_text() == "previous\n" and not (out / "xvector.1.ark").exists()


def test_enhance_refuses_a_model_of_another_extractor(trained, tables, tmp_path, capsys):
    rc, err = _enhance("--model", trained / "seed_model.pt", "--extractor", tables["other"], "--in-root",
                       tables["clean"].parents[1], "--out-root", tmp_path, "clean", capsys=capsys)
    assert rc == 1
    assert f"{trained / 'seed_model.pt'}: key 'extractor'" in err and "trained on embeddings of" in err
    assert not (tmp_path / "clean").exists()


def test_objective_learns_to_undo_a_shift():
    torch.manual_seed(0)
    x0 = torch.randn(256, 8)
    y0 = x0 + 1.5
    model = SeedMLP(8, num_blocks=1)
    obj = SeedObjective(model, NoiseSchedule(), 0, 100)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss, stats = obj(y0, x0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * stats["input_l1"].item()


def test_seed_option_changes_the_training_seed_only(tables, tmp_path):
    # both reference runs here, under this process's current thread settings (other tests may change them)
    trained, same = tmp_path / "default", tmp_path / "same"
    assert seed_train.main(_train_args(tables, trained)) == 0
    assert seed_train.main(_train_args(tables, same) + ["--seed", "3"]) == 0  # the config's seed, given explicitly
    ref = torch.load(trained / "seed_model.pt", weights_only=True)["model"]
    for k, v in torch.load(same / "seed_model.pt", weights_only=True)["model"].items():
        assert torch.equal(v, ref[k]), k
    other = tmp_path / "other"
    assert seed_train.main(_train_args(tables, other) + ["--seed", "9"]) == 0
    sel, ref_sel = (json.loads((d / "selection.json").read_text()) for d in (other, trained))
    assert sel["train_seed"] == 9 and ref_sel["train_seed"] == 3
    assert sel["dev_speakers"] == ref_sel["dev_speakers"]  # the copy plan still follows the config's seed
    weights = torch.load(other / "seed_model.pt", weights_only=True)["model"]
    assert any(not torch.equal(v, ref[k]) for k, v in weights.items())
