"""The audio-check options: a re-export of :mod:`embspace.cli.args` for scripts that import them from here."""

from embspace.cli.args import add_audio_options, audio_policy

__all__ = ["add_audio_options", "audio_policy"]
