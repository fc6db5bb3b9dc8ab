"""The feature front-end a model was trained with, recorded in its model file and computed from audio.

A front-end is a plain dict (it travels in the model file under ``"frontend"``)::

    {"type": "fbank", "num_mel_bins": 80, "frame_length_ms": 25.0, "frame_shift_ms": 10.0,
     "window_type": "povey", "snip_edges": False, "low_freq": 20.0, "high_freq": -400.0,
     "input_scale": 1.0, "sample_rate": 16000, "cmn": "utterance"}

:func:`embspace_frontend` is what embspace's own models use (lhotse's Fbank defaults, the stored
features of ``compute_fbank``); model files without a ``"frontend"`` get it. :func:`kaldi_frontend` is
WeSpeaker's (Kaldi fbank with a Hamming window, ``snip_edges=True``, upper cut-off at Nyquist, samples
scaled to the int16 range). Both end with per-utterance mean normalisation. Features are computed by
lhotse's Fbank (Kaldi-compatible: on speech, log-mel values differ from kaldi-native-fbank's by 7e-6
on average, single ones in the lowest mel bins by up to 3e-3), dither 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from lhotse import Fbank, FbankConfig
from lhotse.cut import Cut

from embspace.utils.errors import DataError

FRONTEND_KEYS = ("type", "num_mel_bins", "frame_length_ms", "frame_shift_ms", "window_type", "snip_edges",
                 "low_freq", "high_freq", "input_scale", "sample_rate", "cmn")


def embspace_frontend(num_mel_bins: int = 80) -> dict[str, Any]:
    """The front-end of embspace's own models (the features ``compute_fbank`` stores)."""
    return {"type": "fbank", "num_mel_bins": int(num_mel_bins), "frame_length_ms": 25.0, "frame_shift_ms": 10.0,
            "window_type": "povey", "snip_edges": False, "low_freq": 20.0, "high_freq": -400.0,
            "input_scale": 1.0, "sample_rate": 16000, "cmn": "utterance"}


def kaldi_frontend(num_mel_bins: int = 80, frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0,
                   sample_rate: int = 16000) -> dict[str, Any]:
    """WeSpeaker's front-end: Kaldi fbank (Hamming, snip_edges, Nyquist cut-off) of int16-scaled samples."""
    return {"type": "fbank", "num_mel_bins": int(num_mel_bins), "frame_length_ms": float(frame_length_ms),
            "frame_shift_ms": float(frame_shift_ms), "window_type": "hamming", "snip_edges": True,
            "low_freq": 20.0, "high_freq": 0.0, "input_scale": 32768.0, "sample_rate": int(sample_rate),
            "cmn": "utterance"}


def frontend_of(model_file: dict) -> dict[str, Any]:
    """The front-end recorded in a loaded model file, or embspace's for files that predate the record."""
    recorded = model_file.get("frontend")
    if recorded is None:
        return embspace_frontend(int(model_file.get("model_config", {}).get("feat_dim", 80)))
    return check_frontend(recorded)


def check_frontend(cfg: dict) -> dict[str, Any]:
    """``cfg`` if it is a complete fbank front-end; DataError naming the bad key otherwise."""
    if not isinstance(cfg, dict):
        raise DataError(f"front-end must be a dict, got {type(cfg).__name__}")
    for key in FRONTEND_KEYS:
        if key not in cfg:
            raise DataError("front-end setting missing", key=key)
    unknown = sorted(set(cfg) - set(FRONTEND_KEYS))
    if unknown:
        raise DataError("unknown front-end setting", key=unknown[0])
    if cfg["type"] != "fbank" or cfg["cmn"] != "utterance":
        raise DataError(f"unsupported front-end {cfg['type']!r} / cmn {cfg['cmn']!r} (expected fbank / utterance)")
    return dict(cfg)


class Frontend:
    """Mean-normalised fbank of mono waveforms at the front-end's sample rate."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = check_frontend(cfg)
        self.sample_rate = int(cfg["sample_rate"])
        self.num_mel_bins = int(cfg["num_mel_bins"])
        with warnings.catch_warnings():  # lhotse warns that snip_edges=True features cannot be *stored*
            warnings.simplefilter("ignore")
            self.extractor = Fbank(FbankConfig(
                sampling_rate=self.sample_rate, frame_length=cfg["frame_length_ms"] / 1000,
                frame_shift=cfg["frame_shift_ms"] / 1000, window_type=cfg["window_type"],
                snip_edges=bool(cfg["snip_edges"]), low_freq=float(cfg["low_freq"]),
                high_freq=float(cfg["high_freq"]), num_filters=self.num_mel_bins, dither=0.0))

    def fbank(self, samples: np.ndarray, sample_rate: int, what: str = "waveform") -> np.ndarray:
        """``(frames, num_mel_bins)`` float32 log-mel fbank (not normalised) of mono float samples."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise DataError(f"expected mono audio, got shape {samples.shape}", what)
        if sample_rate != self.sample_rate:
            raise DataError(f"sample rate {sample_rate} Hz, the model's front-end needs {self.sample_rate} Hz", what)
        if samples.size == 0 or not np.all(np.isfinite(samples)):
            raise DataError("audio is empty or not finite", what)
        frame = int(self.sample_rate * self.cfg["frame_length_ms"] / 1000)
        if samples.size < (frame if self.cfg["snip_edges"] else frame // 2):
            raise DataError(f"audio too short ({samples.size} samples) for one {self.cfg['frame_length_ms']} ms "
                            "frame", what)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            feats = self.extractor.extract(samples * np.float32(self.cfg["input_scale"]), sample_rate)
        if feats.shape[0] == 0:
            raise DataError(f"audio too short for one {self.cfg['frame_length_ms']} ms frame", what)
        return np.asarray(feats, dtype=np.float32)

    def __call__(self, samples: np.ndarray, sample_rate: int, what: str = "waveform") -> np.ndarray:
        """Mean-normalised features, ready for the encoder."""
        feats = self.fbank(samples, sample_rate, what)
        return feats - feats.mean(axis=0, keepdims=True)

    def cut_fbank(self, cut: Cut) -> np.ndarray:
        """Fbank (not normalised) of a mono cut's audio (resampled by lhotse if needed), for extraction."""
        if cut.sampling_rate != self.sample_rate:
            cut = cut.resample(self.sample_rate)
        from embspace.data.pipes import load_audio  # wav.scp pipes: stdin closed, time limit, stderr

        audio = load_audio(cut)
        if audio.shape[0] != 1:
            raise DataError(f"{audio.shape[0]} channels; expected mono audio", key=cut.id)
        return self.fbank(audio[0], cut.sampling_rate, f"cut {cut.id}")
