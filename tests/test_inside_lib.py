"""INSIDE library: interpolation, pairing, identities, synthesis driver (resume), filters, voice space."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from embspace.inside import angle, lerp, slerp
from embspace.inside.backend import build_backend
from embspace.inside.filters import FilterOptions, apply_filters, loo_self_similarity
from embspace.inside.identities import check_prefix, make_identities, read_identities, write_identities
from embspace.inside.pairing import gender_groups, select_pairs, top_k_neighbours
from embspace.inside.synthesis import SynthesisOptions, metadata_entries, plan_texts, synthesize_identities
from embspace.utils.errors import DataError


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ------------------------------------------------------------------ interpolation

def test_slerp_endpoints_midpoint_and_constant_speed():
    rng = np.random.default_rng(0)
    a, b = _unit(rng.standard_normal(16)), _unit(rng.standard_normal(16))
    assert np.allclose(slerp(a, b, 0.0), a) and np.allclose(slerp(a, b, 1.0), b)
    # for unit vectors the SLERP midpoint is normalise(a + b)
    assert np.allclose(slerp(a, b, 0.5), _unit(a + b))
    theta = float(angle(a, b))
    for t in (0.1, 0.25, 0.7):
        m = slerp(a, b, t)
        assert np.isclose(np.linalg.norm(m), 1.0)
        assert np.isclose(float(angle(a, m)), t * theta, atol=1e-9) and np.isclose(float(angle(m, b)), (1 - t) * theta, atol=1e-9)
    # normalised LERP is not constant speed: at alpha 0.25 it stays nearer to a than SLERP does
    assert float(angle(a, lerp(a, b, 0.25))) < float(angle(a, slerp(a, b, 0.25)))
    assert np.allclose(lerp(a, b, 0.5), slerp(a, b, 0.5))


def test_slerp_batch_torch_and_small_angle():
    rng = np.random.default_rng(1)
    a, b = _unit(rng.standard_normal((5, 8))), _unit(rng.standard_normal((5, 8)))
    al = np.linspace(0, 1, 5)
    out = slerp(a, b, al)
    for i in range(5):
        assert np.allclose(out[i], slerp(a[i], b[i], al[i]))
    t = slerp(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32), torch.tensor(al))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and np.allclose(t.numpy(), out, atol=1e-6)
    c = _unit(a[0] + 1e-9 * rng.standard_normal(8))  # theta ~ 1e-9: linear fallback, still exact
    assert np.allclose(slerp(a[0], c, 0.3), _unit(0.7 * a[0] + 0.3 * c), atol=1e-12)


@pytest.mark.parametrize("bad,match", [((np.zeros(4), np.ones(4)), "zero"),
                                       ((np.ones(4), -np.ones(4)), "antipodal"),
                                       ((np.ones(4), np.ones(3)), "shapes")])
def test_interpolation_errors(bad, match):
    with pytest.raises(DataError, match=match):
        slerp(*bad, 0.5)
    with pytest.raises(DataError):
        lerp(*bad, 0.5)


# ------------------------------------------------------------------ pairing

def _speakers(n_per_gender=10, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    ids = [f"s{i:03d}" for i in range(2 * n_per_gender)]
    genders = {s: "m" if i % 2 == 0 else "f" for i, s in enumerate(ids)}
    centre = {"m": rng.standard_normal(dim), "f": rng.standard_normal(dim)}
    emb = np.stack([centre[genders[s]] + 0.7 * rng.standard_normal(dim) for s in ids])
    return ids, emb, genders


def test_top_k_matches_brute_force_in_any_block_size():
    x = _unit(np.random.default_rng(2).standard_normal((300, 16))).astype(np.float32)
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    want = np.argsort(-s, axis=1, kind="stable")[:, :4]
    for block in (7, 64, 1000):
        idx, sims = top_k_neighbours(x, 4, block=block)
        assert np.array_equal(idx, want)
        assert np.allclose(sims, np.take_along_axis(s, want, axis=1))


def test_nn_pairs_are_within_gender_unordered_unique_and_nearest():
    ids, emb, genders = _speakers()
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=8, k=1)
    assert len(pairs) == 8 and sum(p.group == "m" for p in pairs) == 4
    keys = {(p.a, p.b) for p in pairs}
    assert len(keys) == 8 and all(p.a < p.b for p in pairs)
    assert all(genders[p.a] == genders[p.b] == p.group and p.rank == 1 for p in pairs)
    x = _unit(emb)
    for p in pairs:  # one parent is the other's nearest same-gender neighbour
        i, j = ids.index(p.a), ids.index(p.b)
        same = [k for k in range(len(ids)) if genders[ids[k]] == p.group]
        best_i = max((k for k in same if k != i), key=lambda k: x[i] @ x[k])
        best_j = max((k for k in same if k != j), key=lambda k: x[j] @ x[k])
        assert best_i == j or best_j == i
    # gender ratio and the cap on children per parent
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=10, k=5, max_children=2, gender_ratio=0.8)
    assert sum(p.group == "m" for p in pairs) == 8
    counts = {}
    for p in pairs:
        for s in (p.a, p.b):
            counts[s] = counts.get(s, 0) + 1
    assert max(counts.values()) <= 2
    with pytest.raises(DataError, match="raise k"):
        select_pairs(ids, emb, genders, "nn", num_identities=40, k=1)


def test_chain_random_and_random_any():
    ids, emb, genders = _speakers()
    chain = select_pairs(ids, emb, genders, "nn_chain", num_identities=18, seed=3)
    assert len(chain) == 18  # a group of 10 gives 9 steps
    for g in ("m", "f"):
        steps = [p for p in chain if p.group == g]
        deg = {}
        for p in steps:
            for s in (p.a, p.b):
                deg[s] = deg.get(s, 0) + 1
        assert len(deg) == 10 and max(deg.values()) <= 2  # a path visits everyone once
    with pytest.raises(DataError, match="group size - 1"):
        select_pairs(ids, emb, genders, "nn_chain", num_identities=20)
    r1 = select_pairs(ids, emb, genders, "random", num_identities=12, seed=5)
    assert r1 == select_pairs(ids, emb, genders, "random", num_identities=12, seed=5)
    assert r1 != select_pairs(ids, emb, genders, "random", num_identities=12, seed=6)
    assert all(genders[p.a] == genders[p.b] for p in r1) and len({(p.a, p.b) for p in r1}) == 12
    anyp = select_pairs(ids, emb, genders, "random_any", num_identities=30, seed=1)
    assert any(genders[p.a] != genders[p.b] for p in anyp) and all(p.group == "any" for p in anyp)


def test_pairing_bad_input_names_the_key():
    ids, emb, genders = _speakers(3)
    with pytest.raises(DataError, match="no gender") as e:
        select_pairs(ids, emb, {k: v for k, v in genders.items() if k != "s002"}, "nn", 2, source="spk2gender")
    assert "s002" in str(e.value) and "spk2gender" in str(e.value)
    with pytest.raises(DataError, match="at least 2") as e:
        gender_groups(ids[:3], genders)  # one female
    assert "key 'f'" in str(e.value)
    bad = emb.copy()
    bad[4] = 0
    with pytest.raises(DataError, match="zero") as e:
        select_pairs(ids, bad, genders, "nn", 2)
    assert "s004" in str(e.value)
    with pytest.raises(DataError, match="unknown pair mode"):
        select_pairs(ids, emb, genders, "closest", 2)


# ------------------------------------------------------------------ identities

def test_identities_ids_metadata_and_files(tmp_path):
    ids, emb, genders = _speakers()
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=6, k=2)
    idents, cond = make_identities(pairs, ids, emb, "nn", "slerp", alpha=(0.3, 0.7), seed=4, real_ids=ids)
    assert [i.id for i in idents] == sorted(i.id for i in idents)
    assert {i.id for i in idents} == {f"inside_{g}_{n:06d}" for g in "mf" for n in (1, 2, 3)}
    by_pair = {(p.a, p.b): p for p in pairs}
    x = _unit(emb)
    for ident, c in zip(idents, cond):
        assert ident.gender == genders[ident.parent_a] == genders[ident.parent_b]
        assert 0.3 <= ident.alpha <= 0.7 and (ident.parent_a, ident.parent_b) in by_pair
        a, b = x[ids.index(ident.parent_a)], x[ids.index(ident.parent_b)]
        assert np.allclose(c, slerp(a, b, ident.alpha), atol=1e-6)
        assert np.isclose(ident.theta_deg, np.degrees(float(angle(a, b))), atol=1e-3)
    assert len({i.seed for i in idents}) == len(idents)
    write_identities(tmp_path, idents, cond)
    back, cond2 = read_identities(tmp_path)
    assert back == idents and np.array_equal(cond2, cond)
    # matrices (e.g. style packs) are interpolated flattened and keep their shape
    packs = np.random.default_rng(0).standard_normal((len(ids), 3, 4)).astype(np.float32)
    _, c3 = make_identities(pairs, ids, packs, "nn", "lerp", alpha=0.25)
    assert c3.shape == (6, 3, 4)


def test_identity_id_collisions_and_antipodal_parents():
    ids, emb, genders = _speakers()
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=2, k=1)
    with pytest.raises(DataError, match="prefix") as e:
        make_identities(pairs, ids, emb, "nn", real_ids=ids + ["inside_m_000001"])
    assert "inside_m_000001" in str(e.value)
    with pytest.raises(DataError):
        check_prefix("", [])
    bad = emb.copy()
    bad[ids.index(pairs[0].b)] = -bad[ids.index(pairs[0].a)]
    with pytest.raises(DataError, match="antipodal") as e:
        make_identities(pairs, ids, bad, "nn")
    assert pairs[0].a in str(e.value)


# ------------------------------------------------------------------ synthesis driver

class ToneBackend:
    """A fake TTS: a tone whose pitch follows the first coordinate; fails on request."""

    name = "tone"
    space = "test"

    def __init__(self, fail_value: float | None = None):
        self.fail_value, self.calls = fail_value, []

    def synthesize(self, conditioning, texts, language):
        self.calls.append(float(conditioning[0]))
        if self.fail_value is not None and np.isclose(conditioning[0], self.fail_value):
            raise DataError("engine exploded")
        t = np.arange(16000) / 16000
        return [0.3 * np.sin(2 * np.pi * (150 + 100 * abs(conditioning[0])) * t).astype(np.float32) for _ in texts]


def test_synthesis_resumes_after_a_failed_identity(tmp_path):
    ids, emb, genders = _speakers()
    pairs = select_pairs(ids, emb, genders, "nn", num_identities=4, k=1)
    idents, cond = make_identities(pairs, ids, emb, "nn")
    opts = SynthesisOptions(utts_per_identity=2, record=True)
    backend = ToneBackend(fail_value=float(cond[2][0]))  # the third identity fails
    with pytest.raises(DataError, match="engine exploded") as e:
        synthesize_identities(backend, idents, cond, ["a b", "c d", "e f"], tmp_path, opts, source="identities.jsonl")
    assert idents[2].id in str(e.value)
    done = sorted(p.stem for p in (tmp_path / "records").iterdir())
    assert done == [idents[0].id, idents[1].id]
    before = (tmp_path / "wav" / idents[0].id / f"{idents[0].id}-u000.wav").read_bytes()
    good = ToneBackend()
    counts = synthesize_identities(good, idents, cond, ["a b", "c d", "e f"], tmp_path, opts)
    assert counts == {"done": 2, "skipped": 2} and len(good.calls) == 2
    assert (tmp_path / "wav" / idents[0].id / f"{idents[0].id}-u000.wav").read_bytes() == before
    entries = metadata_entries(idents, cond, tmp_path)
    assert len(entries) == 8 and {e["speaker"] for e in entries} == {i.id for i in idents}
    assert all(e["utt"].startswith(e["speaker"] + "-") for e in entries)


def test_plan_texts_unique_and_seeded():
    ids, emb, genders = _speakers()
    idents, _ = make_identities(select_pairs(ids, emb, genders, "nn", 2), ids, emb, "nn")
    texts = [f"t{i}" for i in range(5)]
    p = plan_texts(idents[0], texts, 5)
    assert sorted(p) == texts and p == plan_texts(idents[0], texts, 5)
    assert plan_texts(idents[1], texts, 5) != p
    assert len(plan_texts(idents[0], texts, 12)) == 12


# ------------------------------------------------------------------ filters

def test_filters_count_what_they_remove():
    rng = np.random.default_rng(0)
    base = {s: _unit(rng.standard_normal(8)) for s in ("A", "B", "C")}
    spk, emb, dur = [], [], []
    for s in ("A", "B", "C"):
        for k in range(4):
            spk.append(s)
            emb.append(base[s] + 0.05 * rng.standard_normal(8))
            dur.append(2.0)
    emb = np.stack(emb)
    emb[1] = _unit(rng.standard_normal(8))       # A's 2nd utterance does not sound like A
    dur[4] = 0.2                                  # B's 1st is too short
    dur[8] = dur[9] = dur[10] = 0.1               # C keeps one utterance -> too few
    real = np.stack([base["B"] + 0.01 * rng.standard_normal(8), _unit(rng.standard_normal(8))])
    keep, rep = apply_filters(spk, dur, FilterOptions(min_dur=0.5, max_dur=10, min_self_sim=0.5, max_real_sim=0.95),
                              emb, ["realB", "realX"], real)
    assert rep["removed"] == {"duration": 4, "self_sim": 1, "too_few_utts": 1, "privacy": 1}
    assert rep["privacy_removed"][0]["identity"] == "B" and rep["privacy_removed"][0]["nearest_real"] == "realB"
    assert keep.tolist() == [True, False, True, True] + [False] * 8
    assert rep["kept_identities"] == 1 and rep["kept_utterances"] == 3
    sims = loo_self_similarity(emb[:4], ["A"] * 4)
    assert sims[1] < 0.5 < min(sims[0], sims[2], sims[3])
    with pytest.raises(DataError, match="same encoder"):
        apply_filters(spk, dur, FilterOptions(max_real_sim=0.9), emb, ["r"], np.ones((1, 3)))


def test_privacy_filter_removes_an_identity_close_to_a_test_speaker(tmp_path):
    from embspace.inside.dataset import read_reference_speakers
    from embspace.embio import write_embeddings

    rng = np.random.default_rng(1)
    train_means = {"train1": _unit(rng.standard_normal(16)), "train2": _unit(rng.standard_normal(16))}
    test_means = {"test1": _unit(rng.standard_normal(16)), "test2": _unit(rng.standard_normal(16))}
    for name, means in (("train", train_means), ("test", test_means)):
        write_embeddings(tmp_path / name / "spk.ark", tmp_path / name / "spk.scp", means.items())
    near = test_means["test1"] + 0.05 * _unit(rng.standard_normal(16))  # cosine ~0.999 to test1
    far = _unit(rng.standard_normal(16))
    spk = ["syn-near"] * 3 + ["syn-far"] * 3
    emb = np.stack([c + 0.01 * rng.standard_normal(16) for c in (near, far) for _ in range(3)])
    cos = {k: float(_unit(far) @ v) for k, v in {**train_means, **test_means}.items()}
    assert max(cos.values()) < 0.95  # the far identity is far from every real speaker
    opts = FilterOptions(max_real_sim=0.95)
    ids, means, sets = read_reference_speakers(str(tmp_path / "train" / "spk.scp"), str(tmp_path / "test" / "spk.scp"))
    assert sorted(zip(ids, sets)) == [("test1", "test"), ("test2", "test"), ("train1", "train"), ("train2", "train")]
    keep, rep = apply_filters(spk, [2.0] * 6, opts, emb, ids, means, sets)
    assert keep.tolist() == [False] * 3 + [True] * 3
    (removed,) = rep["privacy_removed"]
    assert (removed["identity"], removed["nearest_real"], removed["set"]) == ("syn-near", "test1", "test")
    assert removed["cos"] > 0.95
    # the training speakers alone do not see it: the test speakers are what removes it
    only_train = read_reference_speakers(str(tmp_path / "train" / "spk.scp"), None)
    assert apply_filters(spk, [2.0] * 6, opts, emb, *only_train)[0].all()
    write_embeddings(tmp_path / "short" / "spk.ark", tmp_path / "short" / "spk.scp", [("test9", np.ones(8))])
    with pytest.raises(DataError, match="different dimensions.*train: 16.*test: 8"):
        read_reference_speakers(str(tmp_path / "train" / "spk.scp"), str(tmp_path / "short" / "spk.scp"))


def test_unknown_backend_is_a_data_error():
    with pytest.raises(DataError, match="unknown TTS backend"):
        build_backend("no_such_tts")


def test_logistic_classifier_learns_and_is_deterministic():
    from embspace.classify import LogisticClassifier, error_rate

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(1.0, 1.0, (40, 5)), rng.normal(-1.0, 1.0, (40, 5))])
    y = ["m"] * 40 + ["f"] * 40
    clf = LogisticClassifier.fit(x, y, l2=1e-2)
    assert error_rate(clf.predict(x), y) < 10.0
    assert np.array_equal(clf.weight, LogisticClassifier.fit(x, y, l2=1e-2).weight)
    with pytest.raises(DataError, match="two classes"):
        LogisticClassifier.fit(x, ["m"] * 80)


# ------------------------------------------------------------------ equal steps
def _train_steps(config: dict, cuts, exp) -> int:
    """Optimizer steps of a real ``embspace.bin.train`` run (its last checkpoint's global step)."""
    import yaml

    from embspace.training import checkpoint as ckpt
    from tests.conftest import run_cli

    exp.mkdir(parents=True, exist_ok=True)
    if isinstance(config, dict):
        (exp / "conf.yaml").write_text(yaml.safe_dump(config))
        config = exp / "conf.yaml"
    run_cli("train", "--config", config, "--cuts", cuts, "--exp-dir", exp, "--device", "cpu", "--num-threads", "1")
    return int(ckpt.load(exp / "models" / "checkpoint_latest.pt")["global_step"])


def test_equal_steps_trains_as_many_optimizer_steps_as_the_real_only_baseline(tiny_data, tmp_path):
    """The INSIDE system's config (``local/make_train_config.py --batches-like <real cuts>``, what
    ``steps/inside_train_eval.sh --equal-steps true`` runs) trains on real + synthetic cuts for as
    many optimizer steps as the real-only baseline trains on the real cuts."""
    import subprocess
    import sys

    import yaml
    from lhotse.utils import fastcopy

    from embspace.features.fbank import load_feature_cuts, write_feature_cuts
    from embspace.inside.expand import combine_cuts
    from embspace.training.dataset import speaker_map
    from embspace.training.sampler import SpeakerBalancedSampler
    from tests.conftest import REPO

    real = load_feature_cuts(tiny_data["train_cuts"])
    syn = [fastcopy(c, id=f"syn-{c.id}", supervisions=[fastcopy(s, id=f"syn-{s.id}", speaker=f"syn-{s.speaker}")
                                                       for s in c.supervisions]) for c in real]
    union, _ = combine_cuts(real, syn)
    write_feature_cuts(union, tmp_path / "union_cuts.jsonl.gz")
    assert len(union) == 2 * len(real)
    config = {"seed": 3, "model": {"type": "xvector", "feat_dim": 40, "embed_dim": 16, "channels": 16, "hidden": 32},
              "loss": {"type": "aam", "margin": 0.2, "scale": 16}, "optimizer": {"type": "adam"},
              "lr_schedule": {"initial_lr": 0.01, "final_lr": 0.001, "warmup_epochs": 0.5},
              "data": {"num_frames": 40, "spk_per_batch": 4, "utts_per_spk": 2}, "epochs": 2}
    baseline = _train_steps(config, tiny_data["train_cuts"], tmp_path / "baseline")
    assert baseline == 2 * (len(real) // 8)  # one pass over the real cuts per epoch
    (tmp_path / "conf.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([sys.executable, str(REPO / "steps" / "make_train_config.py"), "--config", str(tmp_path / "conf.yaml"),
                    "--out", str(tmp_path / "inside.yaml"), "--batches-like", str(tiny_data["train_cuts"])],
                   check=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)))  # as path.sh does
    inside = _train_steps(tmp_path / "inside.yaml", tmp_path / "union_cuts.jsonl.gz", tmp_path / "inside")
    assert inside == baseline
    spk2id = speaker_map(union)  # without the rule: one pass over the union per epoch, twice the steps
    per_epoch = len(SpeakerBalancedSampler([spk2id[c.supervisions[0].speaker] for c in union], 4, 2))
    assert per_epoch == len(union) // 8 and 2 * per_epoch > baseline


def _gender_set(root, speakers: dict[str, str], utts: int, rng, scp_dir=None) -> None:
    """A Kaldi dir (utt2spk, spk2gender) and utterance embeddings whose first axis carries the gender."""
    from embspace.embio import write_embeddings

    root.mkdir(parents=True, exist_ok=True)
    utt2spk = {f"{s}-{k}": s for s in sorted(speakers) for k in range(utts)}
    (root / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utt2spk.items()))
    (root / "spk2gender").write_text("".join(f"{s} {g}\n" for s, g in sorted(speakers.items())))
    vecs = []
    for u, s in utt2spk.items():
        v = 0.3 * rng.standard_normal(8)
        v[0] += 1.0 if speakers[s] == "m" else -1.0
        vecs.append((u, v.astype(np.float32)))
    out = scp_dir or root
    write_embeddings(out / "xvector.ark", out / "xvector.scp", vecs)


def test_inside_gender_select_then_eval_writes_metrics_and_predictions(tmp_path):
    """inside_gender: the subset leaves dev speakers of both genders; eval trains real-only and INSIDE
    classifiers (L2 chosen on dev) and writes accuracy, error rate and predictions of each."""
    from embspace.bin import inside_gender

    rng = np.random.default_rng(0)
    train = {f"r{i}": "mf"[i % 2] for i in range(8)}
    _gender_set(tmp_path / "train", train, 4, rng)
    _gender_set(tmp_path / "syn", {f"inside_{g}_{i}": g for g in "mf" for i in range(3)}, 4, rng)
    _gender_set(tmp_path / "test", {f"t{i}": "mf"[i % 2] for i in range(4)}, 5, rng)
    g = tmp_path / "train" / "spk2gender"
    assert inside_gender.main(["select", "--spk2gender", str(g), "--per-gender", "2", "--out", str(tmp_path / "sub")]) == 0
    subset = (tmp_path / "sub").read_text().split()
    assert len(subset) == 4 and sorted(train[s] for s in subset) == ["f", "f", "m", "m"]
    args = ["eval", "--spk2gender", str(g), "--speakers", str(tmp_path / "sub"),
            "--train-scp", str(tmp_path / "train" / "xvector.scp"), "--train-utt2spk", str(tmp_path / "train" / "utt2spk"),
            "--synthetic-scp", str(tmp_path / "syn" / "xvector.scp"), "--synthetic-data", str(tmp_path / "syn"),
            "--test-scp", str(tmp_path / "test" / "xvector.scp"), "--test-data", str(tmp_path / "test")]
    with pytest.raises(SystemExit) as e:
        inside_gender.main(args)
    assert e.value.code == 2  # eval needs --out-dir
    assert inside_gender.main([*args, "--out-dir", str(tmp_path / "out")]) == 0
    real = json.loads((tmp_path / "out" / "real.metrics.json").read_text())
    inside = json.loads((tmp_path / "out" / "inside.metrics.json").read_text())
    assert real["accuracy"] + real["error_rate"] == pytest.approx(100.0) and real["test_utterances"] == 20
    assert (inside["synthetic_identities"], inside["train_utterances"]) == (6, 16 + 24)
    lines = (tmp_path / "out" / "inside.predictions").read_text().splitlines()
    assert len(lines) == 20 and all(x.split()[1] in "mf" and x.split()[2] in "mf" for x in lines)
    with pytest.raises(SystemExit) as e:  # 4 speakers per gender: 4 in the subset leaves no dev speaker
        inside_gender.main(["select", "--spk2gender", str(g), "--per-gender", "4", "--out", str(tmp_path / "s2")])
    assert e.value.code == 1
