"""The built-in ``espeak`` backend: espeak-ng driven by a speaker embedding through a conditioning network.

The conditioning vector is a speaker embedding in the space of the encoder the conditioning
network was trained with (GE2E by default, ``space`` = ``"ge2e-256"``); the network
(:mod:`embspace.inside.condnet`) turns it into a voice (a blend of espeak-ng variants written as a
new variant file, an accent voice, pitch/rate and spectral colouring), which speaks each text. The
output is the clean voice at 16 kHz; recording conditions are added by the synthesis driver.

    backend = build_backend("espeak", model="exp/inside/condnet/model.pt")
    wavs = backend.synthesize(embedding, ["Hello there."], "en")

Deterministic: the per-utterance seeds come from the bytes of the conditioning vector and the
utterance's index and text.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from embspace.inside.backend import register_backend
from embspace.inside.condnet import VoiceMapper
from embspace.inside.espeak_voice import VoiceSpec, private_data_dir, speak
from embspace.utils.errors import DataError


def default_data_dir() -> Path:
    """Where the private espeak-ng data folder goes when none is given (shared per user)."""
    return Path(tempfile.gettempdir()) / f"embspace-espeak-ng-data-{os.getuid() if hasattr(os, 'getuid') else 0}"


@register_backend("espeak")
class EspeakBackend:
    """espeak-ng conditioned on a speaker embedding (see the module docstring)."""

    name = "espeak"

    def __init__(self, model: str | os.PathLike, data_dir: str | os.PathLike | None = None,
                 pitch_jitter: int = 3, rate_jitter: int = 10):
        if not Path(model).is_file():
            raise DataError("conditioning network not found (train it with inside_train_condnet)", model)
        self.mapper = VoiceMapper.load(model)
        self.space = f"{self.mapper.meta.get('encoder', 'unknown')}-{self.mapper.in_dim}"
        self.data_dir = private_data_dir(data_dir or default_data_dir())
        self.pitch_jitter, self.rate_jitter = pitch_jitter, rate_jitter

    def voice(self, conditioning: np.ndarray) -> VoiceSpec:
        """The espeak-ng voice this conditioning vector maps to."""
        cond = np.asarray(conditioning, dtype=np.float32)
        if cond.ndim != 1:
            raise DataError(f"the espeak backend takes a (D,) speaker embedding, got shape {cond.shape}")
        return self.mapper(cond)

    def synthesize(self, conditioning: np.ndarray, texts: Sequence[str], language: str) -> list[np.ndarray]:
        spec = self.voice(conditioning)
        base = hashlib.sha256(np.asarray(conditioning, dtype=np.float32).tobytes()).digest()
        out = []
        for k, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(base + f"{k}:{text}".encode()).digest()[:4], "little") & 0x7FFFFFFF
            out.append(speak(spec, text, self.data_dir, seed, language, self.pitch_jitter, self.rate_jitter)
                       .astype(np.float32))
        return out
