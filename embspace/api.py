"""Speaker embeddings of audio files or arrays with any embspace model file, imported model or ONNX export.

    import embspace
    model = embspace.load_model("exp/ws_r34/avg_model.pt")     # or model.onnx, model.ts
    e = model.embed("a.wav")                                   # (D,) float32
    model.similarity("a.wav", "b.wav")                         # cosine in [-1, 1]
    model.enrol("alice", "alice1.wav", "alice2.wav"); model.identify("x.wav")   # ("alice", 0.83)

Audio is read with soundfile, resampled (lhotse's resampler) to the model's front-end rate, and turned
into the model's own front-end features (:mod:`embspace.features.frontend`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import soundfile as sf
import torch

from embspace.extract import load_encoder
from embspace.features.frontend import Frontend
from embspace.utils.errors import DataError

Audio = Union[str, os.PathLike, np.ndarray]
#: audio whose peak is below this (about -100 dBFS) is treated as silent
SILENCE_PEAK = 1e-5


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu",
               num_threads: int | None = None) -> "SpeakerModel":
    """A :class:`SpeakerModel` from an embspace model file (``.pt``, trained or imported), ``.onnx`` or ``.ts``."""
    if num_threads:
        torch.set_num_threads(num_threads)
    return SpeakerModel(path, device)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


class SpeakerModel:
    """Embeds audio with one model; keeps enrolled speakers for :meth:`identify`."""

    def __init__(self, path: str | os.PathLike, device: str | torch.device = "cpu") -> None:
        self.path = Path(path)
        self.device = torch.device(device)
        self.encoder = load_encoder(path, self.device)
        self.frontend = Frontend(self.encoder.frontend)
        self.sample_rate = self.frontend.sample_rate
        self.speakers: dict[str, np.ndarray] = {}

    def waveform(self, audio: Audio, sample_rate: int | None = None, channel: int | None = None) -> np.ndarray:
        """Mono float32 samples at the model's rate from a file path or an array (``(samples,)`` or
        ``(samples, channels)``; ``sample_rate`` required). Several channels need ``channel``."""
        what = str(audio) if isinstance(audio, (str, os.PathLike)) else "array"
        if isinstance(audio, (str, os.PathLike)):
            try:
                data, file_rate = sf.read(audio, dtype="float32", always_2d=True)
            except (OSError, sf.LibsndfileError) as e:  # missing file, not audio
                raise DataError(f"cannot read audio ({e})", audio) from None
            if sample_rate is not None and sample_rate != file_rate:
                raise DataError(f"file is {file_rate} Hz, sample_rate={sample_rate} was given", audio)
            sample_rate = file_rate
        else:
            if sample_rate is None:
                raise DataError("sample_rate is needed with an array")
            data = np.asarray(audio, dtype=np.float32)
            data = data[:, None] if data.ndim == 1 else data
            if data.ndim != 2:
                raise DataError(f"expected (samples,) or (samples, channels), got shape {np.shape(audio)}")
        if data.shape[1] > 1:
            if channel is None:
                raise DataError(f"{data.shape[1]} channels; choose one with channel=0..{data.shape[1] - 1}", what)
            if not 0 <= channel < data.shape[1]:
                raise DataError(f"channel {channel} out of range 0..{data.shape[1] - 1}", what)
        samples = data[:, channel or 0]
        if samples.size == 0:
            raise DataError("empty audio", what)
        if not np.all(np.isfinite(samples)):
            raise DataError("audio has NaN or infinite samples", what)
        if np.abs(samples).max() < SILENCE_PEAK:
            raise DataError("silent audio (peak below -100 dBFS)", what)
        if sample_rate != self.sample_rate:
            from lhotse.augmentation import Resample

            samples = Resample(int(sample_rate), self.sample_rate)(samples[None], int(sample_rate))[0]
        return np.ascontiguousarray(samples, dtype=np.float32)

    @torch.inference_mode()
    def embed(self, audio: Audio, sample_rate: int | None = None, channel: int | None = None) -> np.ndarray:
        """``(D,)`` float32 embedding of one recording (path or array)."""
        what = str(audio) if isinstance(audio, (str, os.PathLike)) else "array"
        feats = self.frontend(self.waveform(audio, sample_rate, channel), self.sample_rate, what)
        x = torch.from_numpy(feats)[None].to(self.device)
        return self.encoder(x).float().cpu().numpy()[0]

    def embed_batch(self, audios: Sequence[Audio], sample_rate: int | None = None,
                    channel: int | None = None) -> np.ndarray:
        """``(N, D)`` embeddings of several recordings."""
        if not len(audios):
            raise DataError("no audio to embed")
        return np.stack([self.embed(a, sample_rate, channel) for a in audios])

    def similarity(self, a: Audio, b: Audio, sample_rate: int | None = None) -> float:
        """Cosine similarity of the embeddings of two recordings."""
        return cosine(self.embed(a, sample_rate), self.embed(b, sample_rate))

    def enrol(self, name: str, *audios: Audio, sample_rate: int | None = None) -> None:
        """Enrol (or replace) speaker ``name`` with the mean of its length-normalised embeddings."""
        embs = self.embed_batch(list(audios), sample_rate)
        embs /= np.linalg.norm(embs, axis=1, keepdims=True)
        self.speakers[name] = embs.mean(axis=0)

    def identify(self, audio: Audio, sample_rate: int | None = None) -> tuple[str, float]:
        """``(name, cosine)`` of the enrolled speaker most similar to ``audio``."""
        if not self.speakers:
            raise DataError("no speakers enrolled (call enrol first)")
        emb = self.embed(audio, sample_rate)
        scores = {name: cosine(emb, ref) for name, ref in self.speakers.items()}
        best = max(scores, key=scores.get)
        return best, scores[best]
