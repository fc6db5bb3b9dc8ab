"""The ``emotion:`` section as a training method (:mod:`embspace.training.methods`): parallel pairs
with CopyPaste, emotion-aware masking and the ERL cosine term. Importing this module registers it."""

from __future__ import annotations

from typing import Any, Sequence

from embspace.emotion import build_pair_dataset, emotion_options, erl_terms
from embspace.training.methods import DataMethod, MethodData, register_method


def _check(section: Any, num_frames: int) -> None:
    emotion_options(section, num_frames)


def _build(cuts: Sequence, section: Any, num_frames: int, source: str) -> MethodData:
    opts = emotion_options(section, num_frames)
    dataset = build_pair_dataset(cuts, opts, num_frames, source=source)
    return MethodData(dataset, dataset.spk2id, dataset.collate, erl_terms(opts))


EMOTION = register_method(DataMethod("emotion", _check, _build,
                                     augment_conflict="parallel pairs read stored features"))
