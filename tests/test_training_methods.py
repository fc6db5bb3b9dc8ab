"""Training methods registered by their packages (embspace.training.methods) and the training setup
that the config check and bin/train share (embspace.training.config)."""

from __future__ import annotations

import pytest

from embspace.training import methods
from embspace.training.config import CutsSummary, build_encoder, build_head, build_margins, check_config
from embspace.training.methods import DataMethod, MethodData, method_of, register_method
from embspace.utils.errors import DataError
from tests.test_training import TINY_CONFIG

CUTS = CutsSummary(num_cuts=30, utts_per_speaker={f"s{i}": 6 for i in range(5)}, feature_dim=40, has_audio=True)


def _toy_check(section, num_frames: int) -> None:
    if section.get("level", 0) > num_frames:
        raise ValueError(f"level above num_frames={num_frames}")


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setattr(methods, "_METHODS", {})
    return register_method(DataMethod("toy", _toy_check, lambda *a: MethodData(None, {}, list, []),
                                      augment_conflict="toy pairs read stored features"))


def test_a_registered_section_is_checked_by_its_method(toy, tmp_path):
    assert method_of({"toy": {}}) is toy and method_of({"model": {}}) is None
    assert "5 speakers" in check_config({**TINY_CONFIG, "toy": {"level": 10}}, CUTS, tmp_path / "c.yaml")
    with pytest.raises(DataError, match=r"c\.yaml: toy: level above num_frames=60"):
        check_config({**TINY_CONFIG, "toy": {"level": 100}}, CUTS, tmp_path / "c.yaml")
    with pytest.raises(DataError, match=r"toy: cannot be combined with augment \(toy pairs read stored features\)"):
        check_config({**TINY_CONFIG, "toy": {}, "augment": {"num_mel_bins": 40}}, CUTS, tmp_path / "c.yaml")


def test_two_method_sections_are_an_error(toy):
    register_method(DataMethod("other", _toy_check, toy.build))
    with pytest.raises(ValueError, match="sections toy, other cannot be combined"):
        method_of({"toy": {}, "other": {}})


def test_the_emotion_method_registers_on_import():
    import embspace.emotion.training  # noqa: F401

    assert method_of({"emotion": {}}).section == "emotion"


def test_setup_errors_name_their_section():
    with pytest.raises(ValueError, match="needs a 'model:' section"):
        build_encoder({})
    with pytest.raises(ValueError, match="^model: no 'type'"):
        build_encoder({"model": {"feat_dim": 40}})
    encoder, model_cfg = build_encoder(TINY_CONFIG)
    assert model_cfg == TINY_CONFIG["model"]
    with pytest.raises(ValueError, match="^loss: unknown loss type 'nope'"):
        build_head({"loss": {"type": "nope"}}, model_cfg, 5)
    head = build_head(TINY_CONFIG, model_cfg, 5)
    assert build_margins(TINY_CONFIG, head) is not None and build_margins({}, head) is None
