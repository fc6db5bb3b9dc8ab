"""Random fixed-length feature crops of speaker-labelled cuts."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from lhotse import CutSet
from lhotse.cut import Cut

from embspace.utils.errors import DataError


def crop_or_repeat(feats: np.ndarray, num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``num_frames`` window; short inputs are tiled until long enough."""
    if feats.shape[0] == 0:
        raise ValueError("empty feature matrix")
    if feats.shape[0] < num_frames:
        feats = np.tile(feats, (int(np.ceil(num_frames / feats.shape[0])), 1))
    start = int(rng.integers(0, feats.shape[0] - num_frames + 1))
    return feats[start:start + num_frames]


def mean_normalise(feats: np.ndarray) -> np.ndarray:
    """Per-utterance cepstral mean normalisation (no variance normalisation)."""
    return feats - feats.mean(axis=0, keepdims=True)


class SpeakerCropDataset(torch.utils.data.Dataset):
    """Items are ``(utterance_index, crop_seed)``; returns ``(features[T, F], speaker_label)``.

    Features come from the cut's stored features, or, when ``feature_fn`` is given (on-the-fly
    augmentation), from ``feature_fn(cut, rng)``.
    """

    def __init__(self, cuts: CutSet | Sequence[Cut], spk2id: dict[str, int], num_frames: int,
                 feature_fn: Callable[[Cut, np.random.Generator], np.ndarray] | None = None) -> None:
        self.cuts = list(cuts)
        self.spk2id = spk2id
        self.num_frames = num_frames
        self.feature_fn = feature_fn
        self.labels = []
        for c in self.cuts:
            spk = c.supervisions[0].speaker
            if spk not in spk2id:
                raise DataError("speaker not in the speaker list", key=spk)
            self.labels.append(spk2id[spk])

    def __len__(self) -> int:
        return len(self.cuts)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, crop_seed = item
        cut = self.cuts[index]
        rng = np.random.default_rng(crop_seed)
        feats = self.feature_fn(cut, rng) if self.feature_fn else cut.load_features()
        feats = mean_normalise(crop_or_repeat(np.asarray(feats, dtype=np.float32), self.num_frames, rng))
        return torch.from_numpy(np.ascontiguousarray(feats)), self.labels[index]


def collate(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack equal-length crops into ``(B, T, F)`` and labels into ``(B,)``."""
    feats, labels = zip(*batch)
    return torch.stack(feats), torch.tensor(labels, dtype=torch.long)


def speaker_map(cuts: CutSet | Sequence[Cut]) -> dict[str, int]:
    """Sorted speaker ids -> contiguous labels."""
    return {s: i for i, s in enumerate(sorted({c.supervisions[0].speaker for c in cuts}))}
