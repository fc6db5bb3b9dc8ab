"""Options shared by the INSIDE synthesis CLIs (inside_synthesize, inside_command_jobs, inside_fidelity)."""

from __future__ import annotations

import argparse

from embspace.cli.args import add_bool, name_values
from embspace.inside.expand import TEXT_FORMATS
from embspace.inside.synthesis import SynthesisOptions


def add_text_options(p: argparse.ArgumentParser) -> None:
    """What the identities say."""
    g = p.add_argument_group("texts")
    g.add_argument("--text-source", default="builtin",
                   help="'builtin' (the corpus prompts of --language) or a file of sentences (default builtin)")
    g.add_argument("--text-format", default="lines", choices=TEXT_FORMATS,
                   help="a --text-source file: one sentence per line, or a Kaldi text file")
    g.add_argument("--language", default="en", help="language of the texts, passed to the TTS (default en)")
    g.add_argument("--utts-per-identity", type=int, default=10, help="utterances per identity (default 10)")
    add_bool(g, "--unique-text-per-utt", True, "no sentence twice for one identity while the list lasts")
    add_bool(g, "--record", False,
             "record the clean TTS output in 2-3 simulated sessions (channel, noise) like the mini corpus")


def synthesis_options(args: argparse.Namespace) -> SynthesisOptions:
    """The :class:`SynthesisOptions` of :func:`add_text_options`."""
    return SynthesisOptions(utts_per_identity=args.utts_per_identity, language=args.language,
                            unique_text_per_utt=args.unique_text_per_utt, record=args.record)


def parse_backend_opts(items: list[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    """Repeated ``--backend-opt KEY=VALUE`` as keyword arguments of the backend (``-`` in keys becomes ``_``)."""
    pairs = name_values(items, parser, "--backend-opt", "KEY=VALUE", allow_empty_value=True, unique=False)
    return {key.replace("-", "_"): value for key, value in pairs.items()}
