"""Log-mel filterbank features through lhotse, stored once or computed on the fly.

Stored features (the default) are computed once per corpus and read by every training epoch:
on a CPU box that is far cheaper than recomputing them. On-the-fly computation is used when
augmentation changes the waveform (noise, reverb), since then every epoch sees new audio.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from lhotse import CutSet, Fbank, FbankConfig, LilcomChunkyWriter
from lhotse.cut import Cut

from embspace.utils.atomic import atomic_path


def make_extractor(num_mel_bins: int = 80, dither: float = 0.0) -> Fbank:
    """Kaldi-like fbank: 25 ms / 10 ms frames at 16 kHz, ``num_mel_bins`` filters."""
    return Fbank(FbankConfig(num_filters=num_mel_bins, dither=dither))


def compute_and_store(cuts: CutSet, out_cuts: str | os.PathLike, storage_dir: str | os.PathLike,
                      num_mel_bins: int = 80, num_jobs: int = 1) -> CutSet:
    """Compute fbank for every cut into ``storage_dir`` (lilcom chunks) and save the cut manifest.

    A leftover ``storage_dir`` from a killed run is removed first; the cut manifest, written
    atomically last, is what marks the features as complete.
    """
    storage_dir = Path(storage_dir)
    if storage_dir.exists():
        shutil.rmtree(storage_dir)
    storage_dir.mkdir(parents=True)
    # one job writes <dir>/feats.lca; several write <dir>/feats/feats-<i>.lca
    with_feats = cuts.compute_and_store_features(
        extractor=make_extractor(num_mel_bins), storage_path=storage_dir / "feats", num_jobs=num_jobs,
        storage_type=LilcomChunkyWriter,
    )
    with_feats = with_feats.to_eager()
    with atomic_path(out_cuts) as tmp:
        with_feats.to_file(tmp)
    return with_feats


def features_of(cut: Cut, extractor: Fbank) -> np.ndarray:
    """Features of ``cut`` computed now from its audio (used with on-the-fly augmentation)."""
    audio = cut.load_audio()
    return extractor.extract(audio, cut.sampling_rate)
