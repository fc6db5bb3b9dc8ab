"""Kaldi-style text tables (``wav.scp``, ``utt2spk``, ``spk2utt``, ``trials``...) with strict checks.

Every reader of such a file goes through :func:`decode_lines`: lines end at a newline, a trailing
carriage return (CRLF files) and a UTF-8 byte-order mark at the start of the file (some Windows
editors write them) are dropped, and bytes that are not UTF-8 are a DataError naming the file, the
line and the byte offset. The readers also name the file and line of a duplicate key or a missing
field. Every writer writes atomically and sorts keys the way ``LC_ALL=C sort`` does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping, Sequence

from embspace.utils.atomic import atomic_open
from embspace.utils.errors import DataError

BOM = "\ufeff"


def decode_lines(raw_lines: Iterable[bytes | str], source: object) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of UTF-8 lines (bytes, or text already decoded), without the line end.

    One rule for every reader: lines end at ``\\n`` (as in Kaldi), a trailing ``\\r`` (CRLF files) is
    dropped and so is a byte-order mark at the start of the first line. Bytes that are not UTF-8 are
    a DataError naming ``source``, the line and the byte offset in the file.
    """
    offset = 0
    for n, raw in enumerate(raw_lines, 1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"not UTF-8 text ({e.reason}: byte 0x{raw[e.start]:02x} at column {e.start + 1}, "
                                f"offset {offset + e.start} of the file)", source, n) from None
            offset += len(raw)
        else:
            line = raw
        if n == 1 and line.startswith(BOM):
            line = line[1:]
        yield n, line.rstrip("\n").removesuffix("\r")


def iter_raw_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a UTF-8 text file, as :func:`decode_lines` reads them."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    with open(path, "rb") as f:
        yield from decode_lines(f, path)


def iter_stream_lines(stream: IO, source: object = "<stdin>") -> Iterator[tuple[int, str]]:
    """Like :func:`iter_raw_lines` for an open stream (stdin: its bytes, so encoding errors name the line)."""
    yield from decode_lines(getattr(stream, "buffer", stream), source)


def iter_lines(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line_number, fields)`` for each non-empty line of a whitespace-separated file."""
    for n, line in iter_raw_lines(path):
        fields = line.split()
        if fields:
            yield n, fields


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)`` for each non-empty line of a JSON-lines file; a line that is
    not a JSON object is a DataError naming the file and line."""
    for n, line in iter_raw_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"not valid JSON ({e.msg})", path, n) from None
        if not isinstance(obj, dict):
            raise DataError("expected a JSON object", path, n)
        yield n, obj


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
    """Read Kaldi trials ``enroll test target|nontarget``; other labels and a repeated pair are errors."""
    trials = []
    first: dict[tuple[str, str], int] = {}
    for n, fields in iter_lines(path):
        if len(fields) != 3 or fields[2] not in ("target", "nontarget"):
            raise DataError("expected '<enroll> <test> target|nontarget'", path, n)
        check_unique_pair(first, fields[0], fields[1], path, n)
        trials.append((fields[0], fields[1], fields[2] == "target"))
    return trials


def check_unique_pair(first: dict[tuple[str, str], int], enroll: str, test: str, path: object, n: int) -> None:
    """Record the trial ``(enroll, test)`` of line ``n``; a trial seen before is a DataError naming both
    lines (it would count twice in the error rates)."""
    n0 = first.setdefault((enroll, test), n)
    if n0 != n:
        raise DataError(f"duplicate trial '{enroll} {test}' (first on line {n0})", path, n)


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write lines (without newlines) atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
