"""Kaldi site configs (``conf/slurm.conf``, ``conf/queue.conf``): map launcher options to submit flags.

Format, one entry a line (``#`` starts a comment)::

    command sbatch --export=PATH,PYTHONPATH --ntasks-per-node=1  # the submit command and its fixed flags
    option mem=* --mem-per-cpu $0                                 # --mem X adds these flags, $0 -> X
    option mem=0                                                  # --mem 0 adds nothing (exact values win)
    default gpu=0                                                 # value used when the option is not given

An option given on the command line (``--mem``, ``--time``, ``--num-threads``, ``--gpu`` or any
``--name value``) that has no matching ``option`` line is an error.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from embspace.utils.errors import DataError


@dataclass
class SiteConfig:
    """A parsed site config."""

    source: str
    command: list[str] = field(default_factory=list)
    rules: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    def flags(self, given: dict[str, str]) -> list[str]:
        """Submit flags for the options ``given`` (config names such as ``num_threads``) plus defaults."""
        values = dict(given)
        values.update((k, v) for k, v in self.defaults.items() if k not in given)
        out: list[str] = []
        for name, value in values.items():
            rules = self.rules.get(name, [])
            match = next((args for v, args in rules if v == value), None)
            if match is None:
                match = next((args for v, args in rules if v == "*"), None)
            if match is None:
                raise DataError(f"no 'option {name}=...' line matches --{name.replace('_', '-')} {value}",
                                self.source)
            out.extend(a.replace("$0", value) for a in match)
        return out


def parse_config(text: str, source: str) -> SiteConfig:
    """Parse the text of a site config; ``source`` names it in messages."""
    conf = SiteConfig(source=source)
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise DataError(str(e), source, line=lineno) from None
        if not words:
            continue
        kind, rest = words[0], words[1:]
        if kind == "command":
            if not rest:
                raise DataError("'command' needs the submit program", source, line=lineno)
            conf.command = rest
        elif kind in ("option", "default"):
            name, eq, value = rest[0].partition("=") if rest else ("", "", "")
            if not eq or not name or not value:
                raise DataError(f"expected '{kind} name=value ...'", source, line=lineno)
            if kind == "option":
                conf.rules.setdefault(name, []).append((value, rest[1:]))
            elif len(rest) > 1:
                raise DataError("'default name=value' takes nothing more", source, line=lineno)
            else:
                conf.defaults[name] = value
        else:
            raise DataError(f"unknown entry '{kind}' (expected command, option or default)", source, line=lineno)
    if not conf.command:
        raise DataError("no 'command' line", source)
    for name in conf.defaults:
        if name not in conf.rules:
            raise DataError(f"'default {name}=...' has no 'option {name}=...' line", source)
    return conf


def load_config(path: str | None, fallback: str, builtin: str) -> SiteConfig:
    """The config at ``path``; else ``fallback`` (e.g. conf/slurm.conf) if it exists; else ``builtin``."""
    for candidate in (path, fallback):
        if candidate is not None and (candidate == path or Path(candidate).is_file()):
            try:
                text = Path(candidate).read_text(encoding="utf-8")
            except OSError as e:
                raise DataError(f"cannot read config: {e.strerror}", candidate) from None
            return parse_config(text, candidate)
    return parse_config(builtin, "<built-in default config>")
