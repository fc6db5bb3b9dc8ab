"""The audio-check options shared by the import CLIs (prepare_manifests, import_data_dir, local/prepare_*)."""

from __future__ import annotations

import argparse

from embspace.data.audio_check import AudioPolicy


def add_audio_options(p: argparse.ArgumentParser, channel: bool = True, bad_list: bool = True) -> None:
    """``--sampling-rate``, ``--resample``, ``--nj``, (``channel``) ``--channel`` and (``bad_list``) ``--bad-list``."""
    p.add_argument("--sampling-rate", type=int, default=16000, help="expected sampling rate in Hz (default: %(default)s)")
    p.add_argument("--resample", action="store_true",
                   help="accept other rates and resample to --sampling-rate when audio is loaded (lhotse); "
                        "default: a file at another rate is an error")
    if channel:
        p.add_argument("--channel", type=int, default=None, metavar="N",
                       help="use channel N (0-based) of multi-channel files; default: every file must be mono")
    p.add_argument("--nj", type=int, default=0, help="processes for the audio check (0: the CPUs, at most 8)")
    if bad_list:
        p.add_argument("--bad-list", default=None, metavar="FILE",
                       help="write every file that fails the audio checks to FILE (key, path, cause; the error "
                            "names the first 10), e.g. --bad-list exp/bad_audio.txt")


def audio_policy(args: argparse.Namespace) -> AudioPolicy:
    """The policy the options of :func:`add_audio_options` ask for."""
    return AudioPolicy(sampling_rate=args.sampling_rate, resample=args.resample, channel=getattr(args, "channel", None),
                       bad_list=getattr(args, "bad_list", None))
