"""Encoders: shapes, variable length, gradients to every parameter, standard parameter counts, build_model."""

from __future__ import annotations

import pytest
import torch

from embspace.losses import AAMSoftmax
from embspace.models import build_model, count_parameters
from embspace.models.pooling import ASP, TSTP
from embspace.models.xvector import MIN_FRAMES

TINY = {
    "xvector": dict(type="xvector", feat_dim=40, embed_dim=16, channels=16, hidden=24),
    "xvector2": dict(
        type="xvector", feat_dim=40, embed_dim=16, channels=16, hidden=24, two_emb_layer=True, pooling="asp"
    ),
    "ecapa": dict(type="ecapa", feat_dim=40, embed_dim=16, channels=32, scale=4, se_channels=8),
    "ecapa_seq": dict(type="ecapa", feat_dim=40, embed_dim=16, channels=32, scale=8, mfa_channels=48, sum_inputs=False),
    "resnet": dict(type="resnet", feat_dim=40, embed_dim=16, m_channels=4),
    "resnet10": dict(type="resnet", feat_dim=40, embed_dim=16, m_channels=4, layers="resnet10", two_emb_layer=True),
}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("name", sorted(TINY))
def test_train_shapes_and_every_parameter_gets_gradient(name: str) -> None:
    model = build_model(TINY[name]).train()
    head = AAMSoftmax(16, 3, margin=0.2)
    emb = model(torch.randn(2, 200, 40))
    assert emb.shape == (2, 16) and emb.dtype == torch.float32
    loss, logits = head(emb, torch.tensor([0, 2]))
    assert logits.shape == (2, 3)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without gradient: {missing}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert sum(bool(p.grad.abs().sum() > 0) for p in model.parameters()) >= 0.9 * len(list(model.parameters()))


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("frames", [57, MIN_FRAMES, 23])
def test_eval_batch_one_variable_length(name: str, frames: int) -> None:
    model = build_model(TINY[name]).eval()
    with torch.no_grad():
        emb = model(torch.randn(1, frames, 40))
    assert emb.shape == (1, 16) and torch.isfinite(emb).all()


def test_eval_is_deterministic_and_batch_independent() -> None:
    model = build_model(TINY["ecapa"]).eval()
    x = torch.randn(2, 80, 40)
    with torch.no_grad():
        both, one = model(x), model(x[1:])
    torch.testing.assert_close(both[1:], one, rtol=1e-4, atol=1e-5)


def test_xvector_too_short_and_wrong_feat_dim() -> None:
    model = build_model(TINY["xvector"]).eval()
    with pytest.raises(ValueError, match="at least 15 frames"):
        model(torch.randn(1, MIN_FRAMES - 1, 40))
    with pytest.raises(ValueError, match="features"):
        model(torch.randn(1, 100, 80))


@pytest.mark.parametrize(
    "cfg, low, high",
    [
        (dict(type="xvector", feat_dim=80, embed_dim=512), 4.0e6, 4.8e6),
        (dict(type="ecapa", feat_dim=80, embed_dim=192, channels=512), 5.8e6, 6.6e6),
        (dict(type="ecapa", feat_dim=80, embed_dim=192, channels=1024, mfa_channels=1536), 14.0e6, 15.5e6),
        (dict(type="resnet", feat_dim=80, embed_dim=256, m_channels=32), 6.3e6, 6.9e6),
        (dict(type="resnet", feat_dim=80, embed_dim=256, m_channels=32, layers=[2, 2, 2, 2]), 3.8e6, 4.4e6),
    ],
)
def test_standard_parameter_counts(cfg: dict, low: float, high: float) -> None:
    assert low <= count_parameters(build_model(cfg)) <= high


def test_build_model_rejects_unknown_type_and_option() -> None:
    with pytest.raises(ValueError, match="'transformer'"):
        build_model({"type": "transformer"})
    with pytest.raises(ValueError, match="m_channels"):
        build_model({"type": "ecapa", "m_channels": 8})
    with pytest.raises(ValueError, match="resnet99"):
        build_model({"type": "resnet", "layers": "resnet99"})
    with pytest.raises(ValueError, match="divisible"):
        build_model({"type": "ecapa", "channels": 30, "scale": 8})


def test_pooling_statistics() -> None:
    x = torch.randn(3, 5, 50)
    out = TSTP(5)(x)
    torch.testing.assert_close(out[:, :5], x.mean(-1))
    torch.testing.assert_close(out[:, 5:], x.std(-1, unbiased=False))
    asp = ASP(5, attention_channels=4).eval()
    with torch.no_grad():  # constant attention logits -> uniform weights -> plain statistics
        asp.attention[-1].weight.zero_()
        torch.testing.assert_close(asp(x), out, rtol=1e-4, atol=1e-4)
