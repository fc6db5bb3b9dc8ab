"""The synthesis interface every INSIDE text-to-speech backend implements.

A backend turns one *conditioning vector* — an identity in that TTS's own speaker space — and a
list of texts into 16 kHz mono waveforms. The conditioning space is the backend's: the GE2E space
for the built-in espeak backend, Kokoro's style space for the Kokoro backend, whatever an external
command understands for the ``command`` backend. Interpolation (SLERP) happens in that space.

Backends live in ``embspace/inside/backends/<name>.py`` and register themselves by name with
:func:`register_backend`; recipes pick one with ``--tts-backend NAME`` and build it with
:func:`build_backend`, which imports the module on first use.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from embspace.utils.errors import DataError

OUTPUT_RATE = 16000


@runtime_checkable
class TTSBackend(Protocol):
    """What INSIDE needs from a TTS."""

    #: registry name, e.g. ``"espeak"``
    name: str
    #: short description of the conditioning space, e.g. ``"ge2e-256"`` or ``"kokoro-style-510x256"``
    space: str

    def synthesize(self, conditioning: np.ndarray, texts: Sequence[str], language: str) -> list[np.ndarray]:
        """One float32 waveform at :data:`OUTPUT_RATE` per text, spoken by the identity ``conditioning``."""
        ...


_BACKENDS: dict[str, Callable[..., TTSBackend]] = {}


def register_backend(name: str) -> Callable[[Callable[..., TTSBackend]], Callable[..., TTSBackend]]:
    """Class decorator: make a backend constructible by ``name``."""
    def deco(factory: Callable[..., TTSBackend]) -> Callable[..., TTSBackend]:
        if name in _BACKENDS and _BACKENDS[name] is not factory:
            raise ValueError(f"TTS backend '{name}' registered twice")
        _BACKENDS[name] = factory
        return factory
    return deco


def build_backend(name: str, **options: Any) -> TTSBackend:
    """Instantiate a backend by name; ``embspace.inside.backends.<name>`` is imported on first use
    (so optional dependencies load only when asked for). An unknown name is a DataError."""
    if name not in _BACKENDS and name.isidentifier():
        import importlib

        try:
            importlib.import_module(f"embspace.inside.backends.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"embspace.inside.backends.{name}":
                raise DataError(f"TTS backend '{name}' needs a package that is not installed: {e.name}") from e
    if name not in _BACKENDS:
        raise DataError(f"unknown TTS backend (known: {', '.join(sorted(_BACKENDS)) or 'none'})", key=name)
    return _BACKENDS[name](**options)


def known_backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_BACKENDS)
