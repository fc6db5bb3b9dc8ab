"""TTS backends for INSIDE, one module each, imported on demand by ``build_backend``."""
