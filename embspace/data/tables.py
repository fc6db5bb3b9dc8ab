"""Kaldi-style text tables (``wav.scp``, ``utt2spk``, ``spk2utt``, ``trials``...) with strict checks.

Every reader names the file and line of a problem (duplicate key, missing field, text that is not
UTF-8) in a DataError; a UTF-8 byte-order mark at the start of a file (some Windows editors write
one) is skipped. Every writer writes atomically and sorts keys the way ``LC_ALL=C sort`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from embspace.utils.atomic import atomic_open
from embspace.utils.errors import DataError


def iter_raw_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file (a leading byte-order mark dropped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    n = 0
    try:
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                yield n, line
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason} at byte {e.start} of the line)", path, n + 1) from None


def iter_lines(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-empty line of a whitespace-separated file."""
    for n, line in iter_raw_lines(path):
        fields = line.split()
        if fields:
            yield n, fields


def read_table(path: str | os.PathLike, min_fields: int = 2, rest_as_string: bool = False) -> dict[str, str | list[str]]:
    """Read ``key value...`` lines into a dict; duplicate keys and short lines are errors.

    With ``rest_as_string`` the value is the rest of the line as written (for ``wav.scp`` pipes,
    ``text``); otherwise a single value is a string and several values are a list.
    """
    table: dict[str, str | list[str]] = {}
    first_line: dict[str, int] = {}
    for n, raw in iter_raw_lines(path):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) < min_fields:
            raise DataError(f"expected at least {min_fields} fields, got {len(fields)}", path, n, fields[0])
        key = fields[0]
        if key in table:
            raise DataError(f"duplicate key (first seen on line {first_line[key]})", path, n, key)
        first_line[key] = n
        if rest_as_string:
            table[key] = raw.strip()[len(key):].strip()
        else:
            table[key] = fields[1] if len(fields) == 2 else fields[1:]
    return table


def key_lines(path: str | os.PathLike) -> dict[str, int]:
    """``{key: line number}`` of a table (the first line of a duplicated key), for messages."""
    out: dict[str, int] = {}
    for n, fields in iter_lines(path):
        out.setdefault(fields[0], n)
    return out


def write_table(path: str | os.PathLike, table: Mapping[str, str | Sequence[str]], sort: bool = True) -> None:
    """Write a dict as ``key value...`` lines, C-sorted by key, atomically."""
    keys = sorted(table) if sort else list(table)
    with atomic_open(path, "w", encoding="utf-8") as f:
        for k in keys:
            v = table[k]
            f.write(f"{k} {v if isinstance(v, str) else ' '.join(v)}\n")


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> dict[str, list[str]]:
    """Invert ``utt2spk``; utterance lists are sorted."""
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    return spk2utt


def spk2utt_to_utt2spk(spk2utt: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Invert ``spk2utt``."""
    return {utt: spk for spk, utts in spk2utt.items() for utt in utts}


def read_trials(path: str | os.PathLike) -> list[tuple[str, str, bool]]:
    """Read Kaldi trials ``enroll test target|nontarget``; other labels are errors."""
    trials = []
    for n, fields in iter_lines(path):
        if len(fields) != 3 or fields[2] not in ("target", "nontarget"):
            raise DataError("expected '<enroll> <test> target|nontarget'", path, n)
        trials.append((fields[0], fields[1], fields[2] == "target"))
    return trials


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write lines (without newlines) atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
