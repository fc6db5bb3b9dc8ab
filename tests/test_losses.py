"""Margin heads, margin schedule and learning-rate schedule."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from embspace.losses import (
    LOSSES,
    AAMSoftmax,
    AMSoftmax,
    MarginScheduler,
    Softmax,
    WarmupExpDecay,
    build_loss,
    register_loss,
)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_aam_margin_zero_is_normalised_scaled_softmax() -> None:
    head = AAMSoftmax(8, 5, margin=0.0, scale=30.0)
    emb, labels = torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 4, 0])
    loss, logits = head(emb, labels)
    ref = 30.0 * F.normalize(emb) @ F.normalize(head.weight).T
    torch.testing.assert_close(logits, ref)
    torch.testing.assert_close(loss, F.cross_entropy(ref, labels))


@pytest.mark.parametrize("easy", [False, True])
def test_aam_margin_increases_loss_and_target_logit_is_cos_theta_plus_m(easy: bool) -> None:
    head = AAMSoftmax(8, 5, margin=0.0, easy_margin=easy)
    emb = head.weight.detach()[:3] + 0.3 * torch.randn(3, 8)  # positive cosine with the target
    labels = torch.tensor([0, 1, 2])
    loss0, logits0 = head(emb, labels)
    head.set_margin(0.3)
    loss1, logits1 = head(emb, labels)
    assert loss1 > loss0
    torch.testing.assert_close(logits1, logits0)  # returned logits are margin-free
    rows = torch.arange(3)
    theta = torch.acos(logits0[rows, labels] / head.scale)
    margin_logits = logits0.clone()
    margin_logits[rows, labels] = head.scale * torch.cos(theta + 0.3)
    torch.testing.assert_close(loss1, F.cross_entropy(margin_logits, labels), rtol=1e-4, atol=1e-4)


def test_aam_fallback_beyond_pi_and_finite_gradients_near_pi() -> None:
    head = AAMSoftmax(4, 3, margin=0.2)
    w = head.weight.detach()
    for eps in (0.0, 1e-7, 1e-3):  # embedding (nearly) opposite its class weight: theta ~ pi
        emb = (-w[0] + eps * torch.randn(4)).unsqueeze(0).requires_grad_(True)
        loss, logits = head(emb, torch.tensor([0]))
        loss.backward()
        assert torch.isfinite(emb.grad).all() and torch.isfinite(head.weight.grad).all()
        cos = F.cosine_similarity(emb, w[:1]).item()
        if eps == 0.0:  # theta + m > pi: target logit cos(theta) - m sin(m) instead of cos(theta + m)
            ref = logits.clone()
            ref[0, 0] = head.scale * (cos - 0.2 * math.sin(0.2))
            assert loss.item() == pytest.approx(F.cross_entropy(ref, torch.tensor([0])).item(), abs=1e-3)
        head.weight.grad = None


def test_am_softmax_and_plain_softmax() -> None:
    emb, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 1])
    am = AMSoftmax(8, 3, margin=0.25, scale=10.0)
    loss, logits = am(emb, labels)
    cos = F.normalize(emb) @ F.normalize(am.weight).T
    torch.testing.assert_close(logits, 10.0 * cos)
    torch.testing.assert_close(loss, F.cross_entropy(10.0 * (cos - 0.25 * F.one_hot(labels, 3)), labels))
    sm = Softmax(8, 3)
    loss, logits = sm(emb, labels)
    torch.testing.assert_close(loss, F.cross_entropy(sm.fc(emb), labels))


def test_build_loss_and_register_hook() -> None:
    head = build_loss({"type": "aam", "embed_dim": 8, "num_classes": 4, "margin": 0.1, "scale": 16})
    assert isinstance(head, AAMSoftmax) and head.margin == 0.1 and head.scale == 16
    with pytest.raises(ValueError, match="'arcface'"):
        build_loss({"type": "arcface", "embed_dim": 8, "num_classes": 4})
    with pytest.raises(ValueError, match="easy_margin"):
        build_loss({"type": "am", "embed_dim": 8, "num_classes": 4, "easy_margin": True})
    with pytest.raises(ValueError, match="margin"):
        AAMSoftmax(8, 4).set_margin(-0.1)
    register_loss("test_extra", lambda embed_dim, num_classes, **kw: Softmax(embed_dim, num_classes))
    try:
        assert isinstance(build_loss({"type": "test_extra", "embed_dim": 8, "num_classes": 4}), Softmax)
        with pytest.raises(ValueError, match="already"):
            register_loss("test_extra", Softmax)
    finally:
        del LOSSES["test_extra"]


@pytest.mark.parametrize("kind", ["exp", "linear"])
def test_margin_scheduler_key_points(kind: str) -> None:
    s = MarginScheduler(0.2, increase_start_epoch=2, fix_start_epoch=6, increase_type=kind)
    assert s.margin_at(0, 0, 100) == 0.0
    assert s.margin_at(1, 99, 100) == 0.0
    assert s.margin_at(2, 0, 100) == 0.0
    assert s.margin_at(6, 0, 100) == pytest.approx(0.2)
    assert s.margin_at(9, 50, 100) == pytest.approx(0.2)
    mid = s.margin_at(4, 0, 100)
    if kind == "linear":
        assert mid == pytest.approx(0.1)
    else:
        assert 0.19 < mid < 0.2  # fast early rise: 1 - 1e-3 ** 0.5 ~ 0.97
    ramp = [s.margin_at(e, i, 10) for e in range(2, 7) for i in range(10)]
    assert all(a < b for a, b in zip(ramp, ramp[1:41]))  # strictly increasing inside the ramp
    head = AAMSoftmax(4, 3, margin=0.0)
    assert s.step(head, 3, 5, 10) == head.margin == pytest.approx(s.margin_at(3, 5, 10))
    assert MarginScheduler(0.3, 1, 1).margin_at(1, 0, 5) == pytest.approx(0.3)
    assert MarginScheduler(0.3, 1, 3, initial_margin=0.1).margin_at(0, 0, 5) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        MarginScheduler(0.2, 5, 2)
    with pytest.raises(ValueError):
        MarginScheduler(0.2, 1, 2, increase_type="cosine")


def test_warmup_exp_decay_key_points_and_optimizer() -> None:
    s = WarmupExpDecay(initial_lr=0.1, final_lr=5e-5, warmup_epochs=2, total_epochs=10, iters_per_epoch=50)
    assert s.lr_at(0) == 0.0
    assert s.lr_at(50) == pytest.approx(0.05)
    assert s.lr_at(100) == pytest.approx(0.1)  # end of warm-up: peak
    assert s.lr_at(300) == pytest.approx(math.sqrt(0.1 * 5e-5))  # half-way through decay: geometric mean
    assert s.lr_at(500) == pytest.approx(5e-5)
    assert s.lr_at(10_000) == pytest.approx(5e-5)
    lrs = [s.lr_at(i) for i in range(100, 501)]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr_scale": 0.5}], lr=1.0)
    s2 = WarmupExpDecay(0.1, 5e-5, 2, 10, 50, optimizer=opt)
    assert s2.step(100) == pytest.approx(0.1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1, 0.05])
    assert WarmupExpDecay(0.1, 0.01, 0, 1, 10).lr_at(0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        WarmupExpDecay(0.1, 0.01, 3, 2, 10)


def test_margin_head_computes_in_float32_under_autocast() -> None:
    head = AAMSoftmax(8, 3, margin=0.2)
    emb = torch.randn(2, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, logits = head(emb.bfloat16(), torch.tensor([0, 2]))
    assert logits.dtype == torch.float32 and torch.isfinite(loss)
