"""embspace.emotion: options, CopyPaste joins, emotion-aware masking, parallel pairs, the ERL term,
trial lists, the style classifier, and fine-tuning through bin/train.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from lhotse import Fbank, FbankConfig

from embspace.emotion import build_pair_dataset, collate_pairs, emotion_options, erl_terms, select_cuts
from embspace.emotion.copypaste import join, piece_lengths, window
from embspace.emotion.masking import fbank_energy, frame_rms, mask_features, mask_waveform, select_frames
from embspace.emotion.stylecheck import speaker_normalise, train_and_test, utterance_descriptors
from embspace.emotion.trials import build_trials, choose_dev_speakers
from embspace.losses.extra import build_extra_losses, needs_pairs, parallel_cosine, same_speaker_cosine
from embspace.training import checkpoint as ckpt
from embspace.training.speaker import SpeakerNet, imprint_head
from embspace.utils.errors import DataError
from tests.conftest import REPO

EMO = {"emotion_field": "emotion", "emotions": ["angry", "sad"], "min_frames": 20}


def opts(**over):
    cfg = json.loads(json.dumps(EMO))
    for k, v in over.items():
        cfg[k] = v
    return emotion_options(cfg, 60)


# -------------------------------------------------------------------------------------- options
def test_options_default_off_and_checked():
    o = emotion_options(None, 200)
    assert o.components == "none" and o.copypaste.segment_frames == (80, 120) and o.em.ratio == 0.2
    assert opts(copypaste={"enable": True, "segment_frames": [20, 30]}, erl={"enable": True}).components == "cp+erl"
    with pytest.raises(ValueError, match="unknown option.*emotion.em: rate"):
        opts(em={"rate": 0.3})
    with pytest.raises(ValueError, match="em.select"):
        opts(em={"select": "loudest"})
    with pytest.raises(ValueError, match="segment_frames"):
        opts(copypaste={"enable": True, "segment_frames": [40, 70]})  # longer than the 60-frame crop
    with pytest.raises(ValueError, match="non-neutral"):
        opts(emotions=["neutral", "sad"])


# -------------------------------------------------------------------------------------- joins
def test_copypaste_join_lengths_and_crossfade():
    rng = np.random.default_rng(0)
    a, b = np.zeros((50, 3), np.float32), np.ones((40, 3), np.float32)
    out = join([a, b], crossfade=4)
    assert out.shape == (86, 3)
    assert np.all(out[:46] == 0) and np.all(out[50:] == 1)
    assert np.all(np.diff(out[45:51, 0]) > 0)  # a ramp from the first piece to the second
    assert np.array_equal(join([a, b], 0), np.concatenate([a, b]))
    first, second = piece_lengths(200, (80, 120), 2, rng)
    assert 80 <= first <= 120 and first + second - 2 == 200
    w, start = window(np.arange(7)[:, None], 20, rng)  # short input is tiled
    assert w.shape == (20, 1) and np.array_equal(w[:, 0], np.arange(start, start + 20) % 7)


# -------------------------------------------------------------------------------------- masking
def test_frame_rms_lines_up_with_fbank_frames():
    extractor = Fbank(FbankConfig(num_filters=40, dither=0.0))
    rng = np.random.default_rng(1)
    for n in (16000, 16079, 16080, 23456):
        x = 0.1 * rng.standard_normal(n).astype(np.float32)
        x[8000:9600] *= 8.0  # a loud stretch: frames 50-59
        rms = frame_rms(x)
        assert len(rms) == extractor.extract(x, 16000).shape[0]
        assert set(np.argsort(-rms)[:8]) <= set(range(48, 62))
        direct = np.sqrt(np.mean(x[10 * 160 - 120:10 * 160 - 120 + 400].astype(np.float64) ** 2))
        assert rms[10] == pytest.approx(direct, rel=1e-4)


def test_frame_selection_and_masks():
    energy = np.array([1, 9, 2, 8, 3, 7, 4, 6, 5, 0], dtype=np.float32)
    o = opts(em={"enable": True, "ratio": 0.3}).em
    assert np.flatnonzero(select_frames(energy, o)).tolist() == [1, 3, 5]
    low = opts(em={"enable": True, "ratio": 0.2, "mask_target": "low"}).em
    assert np.flatnonzero(select_frames(energy, low)).tolist() == [0, 9]
    wide = opts(em={"enable": True, "ratio": 0.1, "span": 3}).em
    assert np.flatnonzero(select_frames(energy, wide)).tolist() == [0, 1, 2]
    thr = opts(em={"enable": True, "select": "threshold", "k_std": 1.0}).em
    assert np.flatnonzero(select_frames(energy, thr)).tolist() == [1, 3]
    feats = np.arange(20, dtype=np.float32).reshape(10, 2)
    mask = select_frames(energy, o)
    for fill, row in (("mean", feats.mean(0)), ("zero", [0, 0]), ("floor", feats.min(0))):
        out = mask_features(feats, mask, fill)
        assert np.allclose(out[mask], row) and np.array_equal(out[~mask], feats[~mask])
    x = np.ones(1000, np.float32)
    y = mask_waveform(x, np.array([False, True] + [False] * 4), hop=160)
    assert y[160:320].sum() == 0 and y[:160].sum() == 160 and y[320:].sum() == 680
    # the fbank energy proxy ranks frames like their loudness
    loud = np.log(np.array([[1.0, 1.0], [10.0, 10.0], [2.0, 2.0]]))
    assert np.argsort(fbank_energy(loud)).tolist() == [0, 2, 1]


# -------------------------------------------------------------------------------------- ERL term
def test_parallel_cosine_term_and_hook():
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0]], requires_grad=True)
    pairs = torch.tensor([[0, 1], [2, 3]])
    assert parallel_cosine(emb, None, pairs).item() == pytest.approx(0.5)  # (1 + 0) / 2
    assert parallel_cosine(emb, None, pairs, form="mse_to_1").item() == pytest.approx(0.5)
    parallel_cosine(emb, None, pairs, stop_grad_anchor=True).backward()
    assert emb.grad[0].abs().sum() == 0 and emb.grad[1].abs().sum() > 0
    (name, weight, term), = build_extra_losses([{"name": "parallel_cosine", "weight": 0.5, "form": "mse_to_1"}])
    assert needs_pairs(term) and weight == 0.5
    (_, _, plain), = build_extra_losses([{"name": "same_speaker_cosine", "weight": 0.1}])  # old configs still work
    assert not needs_pairs(plain)
    with pytest.raises(ValueError, match="unknown option.*margin"):
        build_extra_losses([{"name": "parallel_cosine", "margin": 1}])
    assert erl_terms(opts()) == [] and erl_terms(opts(erl={"enable": True, "weight": 2}))[0][1] == 2.0

    class Head(torch.nn.Module):
        def forward(self, e, labels):
            return e.sum() * 0, torch.zeros(len(labels), 2)

    net = SpeakerNet(torch.nn.Identity(), Head(), erl_terms(opts(erl={"enable": True})) +
                     build_extra_losses([{"name": "same_speaker_cosine"}]))
    labels = torch.tensor([0, 0, 1, 1])
    loss, stats = net(emb.detach(), labels, pairs)
    assert stats["parallel_cosine"] == pytest.approx(0.5)
    assert loss.item() == pytest.approx(0.5 + float(same_speaker_cosine(emb.detach(), labels)))
    with pytest.raises(ValueError, match="needs pairs"):
        net(emb.detach(), labels)


# -------------------------------------------------------------------------------------- pairs
@pytest.fixture(scope="module")
def cuts(tiny_emotion_data):
    from embspace.features.fbank import load_feature_cuts

    return list(load_feature_cuts(tiny_emotion_data["train_cuts"]))


def _label(ds, i):
    return ds.emotions[i]


def test_selection_skips_and_errors(cuts):
    sel = select_cuts(cuts, opts())
    assert len(sel.cuts) == len(cuts) and sum(sel.skipped.values()) == 0
    no_neutral = [c for c in cuts if not (c.supervisions[0].speaker == "spk000"
                                          and c.supervisions[0].custom["emotion"] == "neutral")]
    sel = select_cuts(no_neutral, opts())
    assert sel.skipped["speakers without neutral speech"] == 1 and "spk000" not in {c.supervisions[0].speaker for c in sel.cuts}
    assert "skipped 1 speakers without neutral speech" in sel.summary()
    with pytest.raises(DataError, match="no speaker has both"):
        select_cuts(cuts, opts(min_frames=10_000))
    short = select_cuts(cuts, opts(min_frames=int(np.median([c.num_frames for c in cuts]))))
    assert short.skipped[f"utterances shorter than min_frames={int(np.median([c.num_frames for c in cuts]))}"] > 0
    with pytest.raises(DataError, match="unknown emotion label 'sad'.*key 'spk000-sad-u00'|key 'spk000-sad-u00'.*unknown emotion label 'sad'"):
        select_cuts(cuts, opts(emotions=["angry"]))
    sel = select_cuts(cuts, opts(emotions=["angry"], unknown_emotion="skip"))
    assert sel.skipped["utterances with an unknown emotion label"] == sum(
        c.supervisions[0].custom["emotion"] == "sad" for c in cuts)
    with pytest.raises(DataError, match="no emotion label 'mood'"):
        select_cuts(cuts, opts(emotion_field="mood"))


def test_plain_pairs_cross_neutral_and_emotional(cuts):
    ds = build_pair_dataset(cuts, opts(), 60)
    for i in range(len(ds)):
        rng = np.random.default_rng(i)
        (a,), (p,) = ds.plan(i, rng)
        assert a.index == i and ds.labels[p.index] == ds.labels[i]
        assert (_label(ds, i) == "neutral") != (_label(ds, p.index) == "neutral")
    x1, x2, lab, cp = ds[(3, 11)]
    y1, y2, _, _ = ds[(3, 11)]
    assert x1.shape == x2.shape == (60, 40) and torch.equal(x1, y1) and torch.equal(x2, y2)  # reproducible
    assert lab == ds.labels[3] and not cp and abs(float(x1.mean())) < 1e-4  # mean-normalised
    feats, labels, pairs = collate_pairs([ds[(i, i)] for i in range(4)])
    assert feats.shape == (8, 60, 40) and labels.tolist() == [ds.labels[i] for i in range(4)] * 2
    assert pairs.tolist() == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_copypaste_partner_joins_a_neutral_and_an_emotional_piece(cuts):
    o = opts(copypaste={"enable": True, "segment_frames": [20, 30], "crossfade_frames": 0, "order": "neutral_first"})
    ds = build_pair_dataset(cuts, o, 60)
    emo_idx = next(i for i in range(len(ds)) if _label(ds, i) == "angry")
    anchor, partner = ds.plan(emo_idx, np.random.default_rng(5))
    assert [p.index for p in anchor] == [emo_idx]
    assert _label(ds, partner[0].index) == "neutral" and partner[1].index == emo_idx  # the sampled utterance itself
    assert partner[0].length + partner[1].length == 60 and 20 <= partner[0].length <= 30
    view = ds.render(partner, np.random.default_rng(0), masked=False)
    first = np.asarray(ds.cuts[partner[0].index].load_features())
    second = np.asarray(ds.cuts[emo_idx].load_features())
    n = partner[0].length

    def is_window(piece, full):
        return any(np.allclose(piece, full[s:s + len(piece)], atol=1e-5) for s in range(len(full) - len(piece) + 1))

    assert is_window(view[:n], first) and is_window(view[n:], second)
    same = opts(copypaste={"enable": True, "segment_frames": [20, 30], "scheme": "same_emotion"})
    ds2 = build_pair_dataset(cuts, same, 60)
    _, partner = ds2.plan(emo_idx, np.random.default_rng(5))
    assert {_label(ds2, p.index) for p in partner} == {"angry"}
    swap = opts(copypaste={"enable": True, "segment_frames": [20, 30], "pair_mode": "emo_swap", "crossfade_frames": 0})
    ds3 = build_pair_dataset(cuts, swap, 60)
    anchor, partner = ds3.plan(emo_idx, np.random.default_rng(7))
    shared = [p for p in anchor if _label(ds3, p.index) == "neutral"][0]
    assert shared in partner  # one neutral window in both views
    assert {_label(ds3, p.index) for p in anchor + partner} == {"neutral", "angry", "sad"}
    a, p, _, cp = ds3[(emo_idx, 7)]
    assert cp  # an emo_swap pair is a CopyPaste pair
    k = anchor.index(shared)
    lo, hi = (0, shared.length) if k == 0 else (60 - shared.length, 60)
    raw_a = ds3.render(anchor, np.random.default_rng(0), False)
    raw_p = ds3.render(partner, np.random.default_rng(0), False)
    assert np.allclose(raw_a[lo:hi], raw_p[lo:hi])


def test_erl_on_copypaste_pairs_only(cuts):
    cp = {"enable": True, "segment_frames": [20, 30], "p_cp": 0.5}
    ds = build_pair_dataset(cuts, opts(copypaste=cp, erl={"enable": True, "pairs": "copypaste"}), 60)
    seeds = list(range(40))
    batch = [ds[(i % len(ds), seed)] for i, seed in enumerate(seeds)]
    joined = [len(ds.plan(i % len(ds), np.random.default_rng(seed))[1]) == 2 for i, seed in enumerate(seeds)]
    assert [item[3] for item in batch] == joined and 0 < sum(joined) < len(joined)  # both kinds in the batch
    feats, labels, pairs = ds.collate(batch)
    b = len(batch)
    assert feats.shape[0] == labels.shape[0] == 2 * b  # every crop still goes to the AAM-softmax loss
    assert pairs.tolist() == [[i, i + b] for i in range(b) if joined[i]]
    every = build_pair_dataset(cuts, opts(copypaste=cp, erl={"enable": True}), 60)
    assert every.collate(batch)[2].tolist() == [[i, i + b] for i in range(b)]  # erl.pairs: all (default)
    emb = torch.randn(2 * b, 8)
    want = torch.stack([1 - torch.cosine_similarity(emb[i], emb[i + b], dim=0) for i in range(b) if joined[i]]).mean()
    (_, _, term), = erl_terms(ds.opts)
    assert term(emb, labels, pairs).item() == pytest.approx(want.item(), rel=1e-5)
    with pytest.raises(ValueError, match="erl.pairs.*copypaste.enable"):
        opts(erl={"enable": True, "pairs": "copypaste"})
    with pytest.raises(ValueError, match="erl.pairs"):
        opts(erl={"enable": True, "pairs": "plain"})


#: the script that writes one fine-tuning config per ablation row
ROW_CONFIGS = REPO / "steps" / "emotion" / "make_emotion_configs.py"

def _row_configs(tmp_path, rows):
    src = REPO / "egs" / "mini" / "v1" / "conf" / "emotion_ft.yaml"
    proc = subprocess.run([sys.executable, str(ROW_CONFIGS), "--config", str(src),
                           "--init", "init.pt", "--rows", rows, "--out-dir", str(tmp_path)],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=tmp_path,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return {r: yaml.safe_load((tmp_path / f"{r}.yaml").read_text()) for r in rows.split(",")}


def test_row_configs_of_the_cumulative_ablation(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_emotion_configs", ROW_CONFIGS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    CUMULATIVE, SINGLE = mod.CUMULATIVE, mod.SINGLE  # noqa: N806

    assert CUMULATIVE == ("base", "cp", "cp_erl", "all") and SINGLE == ("base", "cp", "erl", "em", "all")
    rows = _row_configs(tmp_path, ",".join(dict.fromkeys(SINGLE + CUMULATIVE)))
    comps = {r: emotion_options(c["emotion"], c["data"]["num_frames"]).components for r, c in rows.items()}
    assert [comps[r] for r in CUMULATIVE] == ["none", "cp", "cp+erl", "cp+erl+em"]
    assert comps["erl"] == "erl" and comps["em"] == "em"
    assert rows["cp_erl"]["emotion"]["erl"]["pairs"] == rows["all"]["emotion"]["erl"]["pairs"] == "copypaste"
    assert rows["erl"]["emotion"]["erl"]["pairs"] == "all"  # no CopyPaste pairs in that row
    assert all(c["init"] == "init.pt" for c in rows.values())


def test_masking_hides_the_loudest_partner_frames(cuts):
    o = opts(em={"enable": True, "p_em": 1.0, "ratio": 0.25, "energy": "fbank", "fill": "floor"})
    ds = build_pair_dataset(cuts, o, 60)
    _, partner = ds.plan(0, np.random.default_rng(1))
    clean = ds.render(partner, np.random.default_rng(2), masked=False)
    masked = ds.render(partner, np.random.default_rng(2), masked=True)
    changed = np.flatnonzero(np.any(clean != masked, axis=1))
    assert len(changed) == 15
    assert set(changed) == set(np.argsort(-fbank_energy(clean))[:15])
    a, p, *_ = ds[(0, 3)]
    b, q, *_ = build_pair_dataset(cuts, opts(), 60)[(0, 3)]
    assert torch.equal(a, b) and not torch.equal(p, q)  # only the partner is masked (apply_to: partner)
    wave = build_pair_dataset(cuts, opts(em={"enable": True, "p_em": 1.0, "domain": "waveform"},
                                        copypaste={"enable": True, "segment_frames": [20, 30]}), 60)
    x, y, _, _ = wave[(0, 3)]
    assert x.shape == y.shape == (60, 40) and torch.isfinite(y).all()


# -------------------------------------------------------------------------------------- trials
def test_trial_lists_roles_and_skips():
    utt2spk, utt2emo = {}, {}
    for s in "abc":
        for u in range(5):
            utt2spk[f"{s}-n{u}"], utt2emo[f"{s}-n{u}"] = s, "neutral"
        for e in ("angry", "sad"):
            utt2spk[f"{s}-{e}"], utt2emo[f"{s}-{e}"] = s, e
    utt2spk["d-n0"], utt2emo["d-n0"] = "d", "neutral"  # one neutral utterance only: skipped
    utt2spk["d-sad"], utt2emo["d-sad"] = "d", "sad"
    ts = build_trials(utt2spk, utt2emo, enroll_per_spk=2, neutral_test_per_spk=2, seed=3)
    assert ts.skipped["speakers with fewer than 2 neutral utterances"] == 1
    assert len(ts.enroll) == 6 and len(ts.neutral_test) == 6 and len(ts.emotional_test) == 6
    assert set(ts.lists) == {"nn", "angry", "sad", "merged"}
    assert len(ts.lists["nn"]) == 36 and sum(t for *_, t in ts.lists["nn"]) == 12
    assert all(utt2emo[e] == "neutral" and utt2emo[t] == "sad" for e, t, _ in ts.lists["sad"])
    assert ts.lists["merged"] == ts.lists["angry"] + ts.lists["sad"]
    assert not set(ts.enroll) & set(ts.neutral_test)
    assert choose_dev_speakers(list("abcdef"), 2, 1) == choose_dev_speakers(list("fedcba"), 2, 1)


# -------------------------------------------------------------------------------------- style check
def test_style_classifier_generalises_to_new_speakers():
    rng = np.random.default_rng(0)
    rows, labels, speakers = [], [], []
    for s in range(12):
        spk_level = rng.normal(0, 2, size=40)
        for e, shift in (("neutral", 0.0), ("angry", 1.5), ("sad", -1.5)):
            for _ in range(4):
                feats = rng.normal(spk_level + shift, 1.0, size=(80, 40)) + np.linspace(0, shift, 40)
                rows.append(utterance_descriptors(feats))
                labels.append(e)
                speakers.append(f"s{s}")
    x = np.stack(rows)
    tr = [i for i, s in enumerate(speakers) if int(s[1:]) < 8]
    te = [i for i, s in enumerate(speakers) if int(s[1:]) >= 8]
    xs = speaker_normalise(x, speakers)
    res = train_and_test(xs[tr], [labels[i] for i in tr], xs[te], [labels[i] for i in te])
    assert res.accuracy > 0.9 and res.chance == pytest.approx(1 / 3)
    assert np.array(res.confusion).sum() == len(te)


# -------------------------------------------------------------------------------------- fine-tuning
def test_finetune_from_a_pretrained_encoder_with_all_components(tiny_emotion_data, tmp_path):
    model_cfg = {"type": "xvector", "feat_dim": 40, "embed_dim": 16, "channels": 16, "hidden": 32}
    from embspace.models import build_model

    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    ckpt.save({"model": build_model(model_cfg).state_dict(), "model_config": model_cfg}, init)
    cfg = {"seed": 3, "head_init": "class_means", "loss": {"type": "aam", "margin": 0.2, "scale": 16}, "optimizer": {"type": "adam"},
           "lr_schedule": {"initial_lr": 0.005, "final_lr": 0.001, "warmup_epochs": 0},
           "data": {"num_frames": 60, "spk_per_batch": 3, "utts_per_spk": 2, "batches_per_epoch": 3},
           "epochs": 1, "log_every": 1,
           "emotion": {**EMO, "copypaste": {"enable": True, "segment_frames": [20, 30]},
                       "erl": {"enable": True, "weight": 0.5}, "em": {"enable": True, "p_em": 1.0}}}
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")

    def train(*extra):
        return subprocess.run([sys.executable, "-m", "embspace.bin.train", "--config", str(tmp_path / "ft.yaml"),
                               "--cuts", str(tiny_emotion_data["train_cuts"]), "--exp-dir", str(tmp_path / "exp"),
                               "--device", "cpu", "--num-threads", "1", *extra],
                              env=env, capture_output=True, text=True, timeout=300)

    from embspace.bin.check_train_config import main as check

    (tmp_path / "check.yaml").write_text(yaml.safe_dump({**cfg, "init": str(init)}))
    assert check(["--config", str(tmp_path / "check.yaml"), "--cuts", str(tiny_emotion_data["train_cuts"])]) == 0
    (tmp_path / "check.yaml").write_text(yaml.safe_dump({**cfg, "init": str(init), "emotion": {"em": {"ratio": 2}}}))
    with pytest.raises(SystemExit):
        check(["--config", str(tmp_path / "check.yaml"), "--cuts", str(tiny_emotion_data["train_cuts"])])
    proc = train("--init", str(init))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "emotion pairs (cp+erl+em): 32 utterances of 4 speakers" in proc.stdout
    assert "parallel_cosine" in proc.stdout and "epoch 1 done" in proc.stdout
    tuned = ckpt.load(tmp_path / "exp" / "models" / "model_1.pt")
    assert tuned["model_config"] == model_cfg
    start = ckpt.load(init)["model"]
    assert any(not torch.equal(start[k], tuned["model"][k]) for k in start if start[k].is_floating_point())
    assert ckpt.load(tmp_path / "exp" / "models" / "checkpoint_latest.pt")["config"]["init"]["sha256"]
    cfg["model"] = {**model_cfg, "embed_dim": 32}
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(cfg))
    proc = train("--init", str(init))
    assert proc.returncode == 1 and "differs from the pre-trained model's in embed_dim" in proc.stderr


def test_head_imprinting_starts_from_class_means(cuts):
    from embspace.losses import build_loss

    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(60 * 40, 8))
    ds = build_pair_dataset(cuts, opts(), 60)
    head = build_loss({"type": "aam", "embed_dim": 8, "num_classes": len(ds.spk2id), "margin": 0.2, "scale": 16})
    feats, labels, _ = collate_pairs([ds[(i, i)] for i in range(len(ds))])
    random_loss = head(encoder(feats), labels)[0].item()
    imprint_head(encoder, head, ds, ds.labels, per_class=3, seed=1)
    assert torch.allclose(head.weight.norm(dim=1), torch.ones(len(ds.spk2id)), atol=1e-5)
    assert head(encoder(feats), labels)[0].item() < random_loss
    with pytest.raises(ValueError, match="one weight row per class"):
        imprint_head(encoder, head, ds, [0, 1], per_class=1)


def test_report_has_the_cumulative_ablation(tmp_path):
    from embspace.bin import emotion_report

    rows = [("pre", None, 20.0), ("base", (), 10.0), ("cp", ("copypaste",), 9.0), ("erl", ("erl",), 9.5),
            ("cp_erl", ("copypaste", "erl"), 8.0), ("all", ("copypaste", "erl", "em"), 8.8)]
    systems = []
    for name, comps, eer in rows:
        d = tmp_path / name
        (d / "scores").mkdir(parents=True)
        m = {"eer": eer, "mindcf_0.01": 0.5, "mindcf_0.05": 0.3}
        for lst in ("test_nn", "test_merged"):
            (d / "scores" / f"{lst}.metrics.json").write_text(json.dumps(m))
        if comps is not None:
            emo = {"emotion_field": "style", "copypaste": {"segment_frames": [80, 120]}}
            for c in ("copypaste", "erl", "em"):
                emo.setdefault(c, {})["enable"] = c in comps
            (d / "config.yaml").write_text(yaml.safe_dump({"data": {"num_frames": 200}, "emotion": emo}))
        systems += ["--system", f"x_{name}={d}"]
    assert emotion_report.main(["--results", str(tmp_path / "results.json"), *systems,
                                "--out-md", str(tmp_path / "report.md")]) == 0
    report = (tmp_path / "report.md").read_text()
    table = report.split("## Cumulative ablation, EER (%)")[1]
    lines = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [line.split(" | ")[:2] for line in lines] == [["| baseline", "x_base"], ["| +cp", "x_cp"],
                                                        ["| +erl", "x_cp_erl"], ["| +em", "x_all"]]
    assert "8.00 (-11.1%; -20.0%)" in lines[2] and "8.80 (+10.0%; -12.0%)" in lines[3]
    (tmp_path / "cp_erl" / "config.yaml").unlink()  # without the cp_erl row there is no cumulative table
    emotion_report.main(["--results", str(tmp_path / "results2.json"), *systems, "--out-md", str(tmp_path / "r2.md")])
    assert "Cumulative" not in (tmp_path / "r2.md").read_text()


def test_prepare_then_style_check_write_lists_summary_and_report(tiny_emotion_data, tmp_path):
    """emotion_prepare holds dev speakers out and writes the lists; emotion_style_check classifies the
    styles of the evaluation speakers (dev speakers excluded) and writes JSON + Markdown."""
    from embspace.bin import emotion_prepare, emotion_style_check

    out = tmp_path / "emotion"
    assert emotion_prepare.main(["--train-cuts", str(tiny_emotion_data["train_cuts"]), "--test-cuts",
                                 str(tiny_emotion_data["test_cuts"]), "--dev-speakers", "2", "--enroll-per-spk", "1",
                                 "--neutral-test-per-spk", "1", "--out-dir", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["dev_speakers"]) == 2 and summary["finetune"]["speakers"] == 2
    assert {p.name for p in (out / "trials").iterdir()} == {f"{s}_{x}" for s in ("dev", "test")
                                                           for x in ("nn", "angry", "sad", "merged")}
    first = (out / "trials" / "test_merged").read_text().split("\n")[0].split()
    assert len(first) == 3 and first[2] in ("target", "nontarget")
    with pytest.raises(SystemExit) as e:  # 4 training speakers: 3 dev speakers would leave 1 for fine-tuning
        emotion_prepare.main(["--train-cuts", str(tiny_emotion_data["train_cuts"]), "--test-cuts",
                              str(tiny_emotion_data["test_cuts"]), "--dev-speakers", "3", "--out-dir", str(tmp_path / "x")])
    assert e.value.code == 1 and not (tmp_path / "x").exists()

    report = tmp_path / "style_check.json"
    assert emotion_style_check.main(["--train-cuts", str(out / "finetune_cuts.jsonl.gz"), "--test-cuts",
                                     str(out / "eval_cuts.jsonl.gz"), "--exclude-test-speakers",
                                     str(out / "summary.json"), "--out", str(report)]) == 0
    raw = json.loads(report.read_text())["classifier"]["raw"]
    assert raw["classes"] == ["angry", "neutral", "sad"] and raw["chance"] == pytest.approx(1 / 3, abs=0.2)
    assert report.with_suffix(".md").read_text().startswith("# Emotional styles: checks")
