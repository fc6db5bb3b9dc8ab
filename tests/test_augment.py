"""On-the-fly augmentation: noise from a manifest, synthetic reverberation, reproducibility."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from lhotse import CutSet, Recording, RecordingSet

from embspace.training.augment import AugmentOptions, Augmenter
from embspace.training.dataset import SpeakerCropDataset, speaker_map


def _noise_manifest(tmp_path) -> str:
    rng = np.random.default_rng(0)
    recs = []
    for i in range(2):
        path = tmp_path / f"noise{i}.wav"
        sf.write(path, (0.3 * rng.standard_normal(16000 * 3)).astype(np.float32), 16000)
        recs.append(Recording.from_file(path))
    out = tmp_path / "noises.jsonl.gz"
    RecordingSet.from_recordings(recs).to_file(out)
    return str(out)


def test_noise_and_reverb_change_features_reproducibly(tiny_data, tmp_path):
    cut = next(iter(CutSet.from_file(tiny_data["train_cuts"])))
    clean = Augmenter(AugmentOptions(prob=0.0, num_mel_bins=40))(cut, np.random.default_rng(1))
    noisy_aug = Augmenter(AugmentOptions(prob=1.0, reverb_prob=0.0, noise_manifest=_noise_manifest(tmp_path), snr=(0, 0), num_mel_bins=40))
    reverb_aug = Augmenter(AugmentOptions(prob=1.0, reverb_prob=1.0, num_mel_bins=40))
    noisy = noisy_aug(cut, np.random.default_rng(1))
    reverb = reverb_aug(cut, np.random.default_rng(1))
    assert clean.shape[1] == noisy.shape[1] == reverb.shape[1] == 40
    assert abs(clean.shape[0] - noisy.shape[0]) <= 1 and abs(clean.shape[0] - reverb.shape[0]) <= 1
    n = min(len(clean), len(noisy), len(reverb))
    assert np.abs(noisy[:n] - clean[:n]).mean() > 0.5  # 0 dB white noise fills the spectral valleys
    assert np.abs(reverb[:n] - clean[:n]).mean() > 0.1
    np.testing.assert_array_equal(noisy, noisy_aug(cut, np.random.default_rng(1)))
    np.testing.assert_array_equal(reverb, reverb_aug(cut, np.random.default_rng(1)))


def test_dataset_with_augmentation_returns_crops(tiny_data):
    cuts = CutSet.from_file(tiny_data["train_cuts"]).to_eager()
    ds = SpeakerCropDataset(cuts, speaker_map(cuts), num_frames=50, feature_fn=Augmenter(AugmentOptions(prob=1.0, num_mel_bins=40)))
    x, label = ds[(3, 123)]
    y, _ = ds[(3, 123)]
    assert tuple(x.shape) == (50, 40) and label == ds.labels[3]
    assert np.array_equal(x.numpy(), y.numpy())
    assert abs(float(x.mean())) < 1e-3 * 50  # mean-normalised per crop
