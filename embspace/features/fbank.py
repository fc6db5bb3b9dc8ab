"""Log-mel filterbank features through lhotse, stored once or computed on the fly.

Stored features (the default) are computed once per corpus and read by every training epoch:
on a CPU box that is far cheaper than recomputing them. On-the-fly computation is used when
augmentation changes the waveform (noise, reverb), since then every epoch sees new audio.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
from lhotse import CutSet, Fbank, FbankConfig, LilcomChunkyWriter
from lhotse.cut import Cut

from embspace.data.manifests import write_manifest
from embspace.data.pipes import load_audio

#: cuts per feature file; fixed so that the stored layout (and the cut manifest) does not depend on ``num_jobs``
SHARD_SIZE = 500


def make_extractor(num_mel_bins: int = 80, dither: float = 0.0) -> Fbank:
    """Kaldi-like fbank: 25 ms / 10 ms frames at 16 kHz, ``num_mel_bins`` filters."""
    return Fbank(FbankConfig(num_filters=num_mel_bins, dither=dither))


def _store_shard(job: tuple[list[Cut], str, int]) -> list[Cut]:
    """Fbank of one shard of cuts into one lilcom file (runs in a worker process)."""
    import torch

    torch.set_num_threads(1)
    cuts, storage_path, num_mel_bins = job
    stored = CutSet.from_cuts(cuts).compute_and_store_features(
        extractor=make_extractor(num_mel_bins), storage_path=storage_path, num_jobs=1, storage_type=LilcomChunkyWriter)
    return list(stored)


def compute_and_store(cuts: CutSet, out_cuts: str | os.PathLike, storage_dir: str | os.PathLike,
                      num_mel_bins: int = 80, num_jobs: int = 1) -> CutSet:
    """Compute fbank for every cut into ``storage_dir`` (lilcom chunks) and save the cut manifest.

    Cuts go in fixed shards of :data:`SHARD_SIZE` (``feats-<k>.lca``), computed by ``num_jobs``
    worker processes, so the features, their files and the manifest are the same bytes for any
    ``num_jobs``. A leftover ``storage_dir`` from a killed run is removed first; the cut manifest,
    written atomically and deterministically last, is what marks the features as complete.
    """
    storage_dir = Path(storage_dir)
    if storage_dir.exists():
        shutil.rmtree(storage_dir)
    storage_dir.mkdir(parents=True)
    ordered = list(cuts)
    jobs = [(ordered[i:i + SHARD_SIZE], str(storage_dir / f"feats-{i // SHARD_SIZE:04d}"), num_mel_bins)
            for i in range(0, len(ordered), SHARD_SIZE)]
    if num_jobs > 1 and len(jobs) > 1:
        with mp.get_context("fork").Pool(min(num_jobs, len(jobs))) as pool:
            shards = pool.map(_store_shard, jobs, chunksize=1)
    else:
        shards = [_store_shard(job) for job in jobs]
    with_feats = CutSet.from_cuts(c for shard in shards for c in shard)
    write_manifest(with_feats, out_cuts)
    return with_feats


def features_of(cut: Cut, extractor: Fbank) -> np.ndarray:
    """Features of ``cut`` computed now from its audio (used with on-the-fly augmentation)."""
    audio = load_audio(cut)
    return extractor.extract(audio, cut.sampling_rate)
