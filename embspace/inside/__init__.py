"""INSIDE: new speaker identities by interpolating speaker embeddings, synthesised by a TTS."""

from embspace.inside.backend import OUTPUT_RATE, TTSBackend, build_backend, known_backends, register_backend
from embspace.inside.interp import angle, lerp, slerp

__all__ = ["OUTPUT_RATE", "TTSBackend", "angle", "build_backend", "known_backends", "lerp", "register_backend", "slerp"]
