"""The audio-check options shared by the import CLIs (prepare_manifests, import_data_dir, local/prepare_*)."""

from __future__ import annotations

import argparse

from embspace.data.audio_check import AudioPolicy


def add_audio_options(p: argparse.ArgumentParser, channel: bool = True) -> None:
    """``--sampling-rate``, ``--resample``, ``--nj`` and (``channel``) ``--channel``."""
    p.add_argument("--sampling-rate", type=int, default=16000, help="expected sampling rate in Hz (default: %(default)s)")
    p.add_argument("--resample", action="store_true",
                   help="accept other rates and resample to --sampling-rate when audio is loaded (lhotse); "
                        "default: a file at another rate is an error")
    if channel:
        p.add_argument("--channel", type=int, default=None, metavar="N",
                       help="use channel N (0-based) of multi-channel files; default: every file must be mono")
    p.add_argument("--nj", type=int, default=0, help="processes for the audio check (0: the CPUs, at most 8)")


def audio_policy(args: argparse.Namespace) -> AudioPolicy:
    """The policy the options of :func:`add_audio_options` ask for."""
    return AudioPolicy(sampling_rate=args.sampling_rate, resample=args.resample, channel=getattr(args, "channel", None))
