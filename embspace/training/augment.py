"""On-the-fly waveform augmentation through lhotse: additive noise (e.g. MUSAN) and reverberation.

Reverberation uses real RIR recordings when a manifest is given, else a bank of synthetic RIRs
(``embspace.training.rir``; lhotse's own synthetic generator needs torchaudio). Every random choice comes from the per-item generator the dataset passes in, so an
augmented batch is reproducible (and a resumed run sees the same augmentations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from lhotse import CutSet, Fbank, RecordingSet, load_manifest
from lhotse.cut import Cut

from embspace.features.fbank import features_of, make_extractor
from embspace.training.rir import rir_bank
from embspace.utils.errors import DataError


@dataclass
class AugmentOptions:
    prob: float = 0.6  # chance that an item is augmented at all
    noise_manifest: str | None = None  # lhotse RecordingSet/CutSet of noises
    snr: tuple[float, float] = (5.0, 20.0)
    reverb_prob: float = 0.5  # among augmented items, chance of reverb (else noise)
    rir_manifest: str | None = None  # real RIRs; None: synthetic
    num_synthetic_rirs: int = 50
    rir_seed: int = 0
    num_mel_bins: int = 80


def load_noise_cuts(path: str) -> list[Cut]:
    """Noise cuts from a CutSet or RecordingSet manifest (e.g. lhotse's MUSAN recipe output)."""
    manifest = load_manifest(path)
    if isinstance(manifest, RecordingSet):
        manifest = CutSet.from_manifests(recordings=manifest)
    if not isinstance(manifest, CutSet):
        raise DataError(f"expected a RecordingSet or CutSet manifest, got {type(manifest).__name__}", path)
    return list(manifest)


def mix_noise(cut: Cut, noise: Cut, snr_range: tuple[float, float], rng: np.random.Generator) -> Cut:
    """``cut`` with a random stretch of ``noise`` added at an SNR drawn from ``snr_range`` (dB)."""
    if noise.duration > cut.duration:
        start = float(rng.uniform(0, noise.duration - cut.duration))
        noise = noise.truncate(offset=start, duration=cut.duration, preserve_id=True)
    return cut.mix(noise, snr=float(rng.uniform(*snr_range)), preserve_id="left")


class Augmenter:
    """``augmenter(cut, rng) -> fbank`` of a (maybe) noised or reverberated copy of ``cut``."""

    def __init__(self, opts: AugmentOptions) -> None:
        self.opts = opts
        self.noises: Sequence[Cut] = load_noise_cuts(opts.noise_manifest) if opts.noise_manifest else []
        self.rirs = (list(RecordingSet.from_file(opts.rir_manifest)) if opts.rir_manifest
                     else rir_bank(opts.num_synthetic_rirs, opts.rir_seed))
        self.extractor: Fbank = make_extractor(opts.num_mel_bins)

    def augment(self, cut: Cut, rng: np.random.Generator) -> Cut:
        """A randomly augmented copy of ``cut`` (or ``cut`` itself)."""
        if rng.random() >= self.opts.prob:
            return cut
        if not self.noises or rng.random() < self.opts.reverb_prob:
            return cut.reverb_rir(self.rirs[int(rng.integers(len(self.rirs)))])
        return mix_noise(cut, self.noises[int(rng.integers(len(self.noises)))], self.opts.snr, rng)

    def __call__(self, cut: Cut, rng: np.random.Generator) -> np.ndarray:
        return features_of(self.augment(cut, rng), self.extractor)
