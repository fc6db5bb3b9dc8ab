"""Kaldi data-dir utilities: fix, split, subset, combine, filter (behind the ``utils/*.py`` scripts).

Known files and how they are indexed:

* by utterance: ``utt2spk``, ``segments``, ``text``, ``utt2dur``, ``utt2lang``, ``utt2num_frames``,
  ``utt2uniq``, ``feats.scp``, ``vad.scp``, and ``wav.scp`` when there is no ``segments`` file;
* by recording: ``wav.scp`` when there is a ``segments`` file, ``reco2file_and_channel``, ``reco2dur``;
* by speaker: ``spk2gender``, ``cmvn.scp``; ``spk2utt`` is always regenerated from ``utt2spk``.

Other files in a data dir are left alone and not copied. Every table is written C-sorted by key
(Python's string order is the byte order of ``LC_ALL=C sort`` for UTF-8) and atomically; output
dirs are built under a temporary name and renamed when whole.
"""

from __future__ import annotations

import bisect
import itertools
import os
import shutil
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from embspace.data.tables import iter_lines, iter_raw_lines, iter_stream_lines, key_lines, read_table, write_lines
from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError

UTT_FILES = ("utt2spk", "segments", "text", "utt2dur", "utt2lang", "utt2num_frames", "utt2uniq", "feats.scp", "vad.scp")
RECO_FILES = ("reco2file_and_channel", "reco2dur")
SPK_FILES = ("spk2gender", "cmvn.scp")
KNOWN_FILES = ("wav.scp", *UTT_FILES, *RECO_FILES, *SPK_FILES, "spk2utt")

Table = dict[str, str]  # key -> rest of the line as written ('' for a bare key, e.g. an empty transcript)
IdSource = str | os.PathLike | Collection[str]


@dataclass
class DataDir:
    """The known tables of one data dir (``spk2utt`` is not kept: it is regenerated)."""

    path: Path
    tables: dict[str, Table]

    @property
    def segmented(self) -> bool:
        return "segments" in self.tables

    @property
    def utt2spk(self) -> Table:
        return self.tables["utt2spk"]

    def index(self, name: str) -> str:
        """``utt``, ``reco`` or ``spk``: what the keys of table ``name`` are."""
        if name in UTT_FILES or (name == "wav.scp" and not self.segmented):
            return "utt"
        return "reco" if name == "wav.scp" or name in RECO_FILES else "spk"


def load_data_dir(data_dir: str | os.PathLike) -> DataDir:
    """Read and check every known table of a data dir (``utt2spk`` is required)."""
    d = Path(data_dir)
    if not d.is_dir():
        raise DataError("data dir not found", d)
    if not (d / "utt2spk").is_file():
        raise DataError("file not found", d / "utt2spk")
    tables: dict[str, Table] = {}
    for name in KNOWN_FILES:
        if name != "spk2utt" and (d / name).is_file():
            tables[name] = read_table(d / name, min_fields=1 if name == "text" else 2, rest_as_string=True)
    for utt, spk in tables["utt2spk"].items():
        if len(spk.split()) != 1:
            raise DataError("expected '<utt> <spk>'", d / "utt2spk", key=utt)
    if "segments" in tables:
        if "wav.scp" not in tables:
            raise DataError("file not found (needed with segments)", d / "wav.scp")
        for utt, seg in tables["segments"].items():
            fields = seg.split()
            try:
                if len(fields) != 3:
                    raise ValueError
                float(fields[1]), float(fields[2])
            except ValueError:
                raise DataError("expected '<utt> <reco> <start> <end>'", d / "segments", key=utt) from None
    return DataDir(d, tables)


def check_consistent(dd: DataDir) -> None:
    """Every per-utterance table has exactly the utterances of ``utt2spk``; segments point into wav.scp.

    The error names the file and line of the first offending key.
    """
    utts = dd.utt2spk
    hint = f" (run utils/fix_data_dir.py {dd.path})"
    for name, table in dd.tables.items():
        if dd.index(name) != "utt" or name == "utt2spk":
            continue
        for utt in utts:
            if utt not in table:
                raise DataError(f"utterance is not in {name}{hint}", dd.path / "utt2spk",
                                key_lines(dd.path / "utt2spk")[utt], utt)
        for utt in table:
            if utt not in utts:
                raise DataError(f"utterance is not in utt2spk{hint}", dd.path / name, key_lines(dd.path / name)[utt], utt)
    if dd.segmented:
        for utt, seg in dd.tables["segments"].items():
            if seg.split()[0] not in dd.tables["wav.scp"]:
                raise DataError(f"recording '{seg.split()[0]}' is not in wav.scp{hint}", dd.path / "segments",
                                key_lines(dd.path / "segments")[utt], utt)


def _subset_tables(dd: DataDir, utts: Collection[str]) -> dict[str, Table]:
    """Every table restricted to ``utts`` (and their speakers and recordings), plus a fresh ``spk2utt``."""
    utts = set(utts)
    utt2spk = {u: s for u, s in dd.utt2spk.items() if u in utts}
    spks = set(utt2spk.values())
    recos = {dd.tables["segments"][u].split()[0] for u in utt2spk} if dd.segmented else set(utt2spk)
    keep = {"utt": set(utt2spk), "reco": recos, "spk": spks}
    out = {name: {k: v for k, v in table.items() if k in keep[dd.index(name)]} for name, table in dd.tables.items()}
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    out["spk2utt"] = {spk: " ".join(us) for spk, us in spk2utt.items()}
    return out


def _render(table: Table) -> list[str]:
    """Lines of a table, C-sorted by key."""
    return [f"{k} {table[k]}" if table[k] else k for k in sorted(table)]


def _write_tables(out_dir: Path, tables: dict[str, Table]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        write_lines(out_dir / name, _render(table))


def _write_new_dir(out: Path, tables: dict[str, Table]) -> None:
    """Write a whole data dir under a temporary name, then rename it over ``out``."""
    with atomic_path(out) as tmp:
        _write_tables(tmp, tables)


def _read_ids(source: IdSource) -> list[str]:
    """Ids from a file (first field of each line) or from a collection of strings."""
    if isinstance(source, (str, os.PathLike)):
        return [fields[0] for _, fields in iter_lines(source)]
    return list(source)


def _same_dir(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


# ---------------------------------------------------------------- fix_data_dir


@dataclass
class FixReport:
    """What :func:`fix_data_dir` did."""

    utts_before: int  # utterance ids in any per-utterance file
    utts_after: int
    speakers_before: int
    speakers_after: int
    removed: dict[str, int] = field(default_factory=dict)  # lines dropped, per file (only files that lost lines)
    changed: list[str] = field(default_factory=list)  # files rewritten; their originals are in <dir>/.backup/

    def summary(self, data_dir: str | os.PathLike) -> str:
        lines = [(f"kept {self.utts_after} of {self.utts_before} utterances, {self.speakers_after} of "
                  f"{self.speakers_before} speakers in {data_dir}")]
        if self.removed:
            lines.append("removed lines: " + ", ".join(f"{n} {c}" for n, c in sorted(self.removed.items())))
        if self.changed:
            lines.append(f"rewrote {' '.join(self.changed)} (originals in {Path(data_dir) / '.backup'})")
        else:
            lines.append("nothing to change")
        return "\n".join(lines)


def fix_data_dir(data_dir: str | os.PathLike) -> FixReport:
    """Keep only utterances present in every per-utterance file, C-sort every table, regenerate spk2utt.

    With ``segments``, segments whose recording is not in ``wav.scp`` are dropped and recordings
    without segments leave ``wav.scp``. Speakers without utterances leave ``spk2gender``/``cmvn.scp``.
    Each file that changes is first copied to ``<dir>/.backup/``. Nothing is written when the input
    is unreadable or no utterance would be left.
    """
    dd = load_data_dir(data_dir)
    d = dd.path
    utts, seen = set(dd.utt2spk), set(dd.utt2spk)
    for name, table in dd.tables.items():
        if dd.index(name) == "utt":
            utts &= set(table)
            seen |= set(table)
    if dd.segmented:
        wav = dd.tables["wav.scp"]
        utts = {u for u in utts if dd.tables["segments"][u].split()[0] in wav}
    if not utts:
        raise DataError("no utterance is in every per-utterance file; nothing written", d)
    new = _subset_tables(dd, utts)
    report = FixReport(len(seen), len(utts), len(set(dd.utt2spk.values())), len(new["spk2utt"]))
    rendered: dict[str, list[str]] = {}
    for name, table in new.items():
        if name in dd.tables and len(dd.tables[name]) != len(table):
            report.removed[name] = len(dd.tables[name]) - len(table)
        lines = _render(table)
        path = d / name
        old = path.read_bytes() if path.is_file() else None  # bytes: a BOM or CRLF line ends are rewritten too
        if old != "".join(line + "\n" for line in lines).encode("utf-8"):
            rendered[name] = lines
    report.changed = sorted(rendered)
    for name in report.changed:
        if (d / name).is_file():
            with atomic_path(d / ".backup" / name) as tmp:
                shutil.copy2(d / name, tmp)
    for name in report.changed:
        write_lines(d / name, rendered[name])
    return report


# ---------------------------------------------------------------- split_data


def balanced_cuts(sizes: list[int], n: int) -> list[int]:
    """Cut points ``0 = c0 < c1 < ... < cn = len(sizes)``: ``n`` contiguous non-empty runs of near-equal sum.

    Each inner cut is the prefix sum nearest to ``k * total / n`` that still leaves room for the rest.
    """
    if not 1 <= n <= len(sizes):
        raise ValueError(f"cannot cut {len(sizes)} items into {n} non-empty runs")
    cum = list(itertools.accumulate(sizes, initial=0))
    total, m = cum[-1], len(sizes)
    cuts = [0]
    for k in range(1, n):
        lo, hi = cuts[-1] + 1, m - (n - k)
        target = total * k / n
        i = bisect.bisect_left(cum, target, lo, hi + 1)
        candidates = {min(max(c, lo), hi) for c in (i - 1, i)}
        cuts.append(min(candidates, key=lambda c: (abs(cum[c] - target), c)))
    cuts.append(m)
    return cuts


def _split_dir_is_fresh(data_dir: Path, parts: list[Path]) -> bool:
    """True when every part holds the files a split would write and all are newer than the sources."""
    sources = [data_dir / n for n in KNOWN_FILES if (data_dir / n).is_file()]
    expected = {p.name for p in sources} | {"spk2utt"}
    newest = max(p.stat().st_mtime_ns for p in sources)
    for part in parts:
        if not part.is_dir() or {f.name for f in part.iterdir() if f.name in KNOWN_FILES} != expected:
            return False
        if any((part / name).stat().st_mtime_ns <= newest for name in expected):
            return False
    return True


def split_data(data_dir: str | os.PathLike, n: int, per_utt: bool = False) -> list[Path]:
    """Split a data dir into ``n`` parts ``<dir>/split<n>/1..n`` (``split<n>utt`` with ``per_utt``).

    By speaker (default): no speaker is in two parts, speakers stay in C-sorted order and the parts'
    utterance counts are near-equal. ``per_utt``: contiguous runs of utterances whose sizes differ by
    at most one (a speaker may then span parts). Every table is subset consistently. An existing split
    is reused when it is newer than every source file.
    """
    d = Path(data_dir)
    if n < 1:
        raise DataError(f"number of parts must be >= 1, got {n}", d)
    split_dir = d / (f"split{n}utt" if per_utt else f"split{n}")
    parts = [split_dir / str(i) for i in range(1, n + 1)]
    if (d / "utt2spk").is_file() and _split_dir_is_fresh(d, parts):
        return parts
    dd = load_data_dir(d)
    check_consistent(dd)
    utts = sorted(dd.utt2spk)
    if per_utt:
        groups = [[u] for u in utts]
        if n > len(groups):
            raise DataError(f"cannot split {len(groups)} utterances into {n} parts", d / "utt2spk")
    else:
        spk2utts: dict[str, list[str]] = {}
        for utt in utts:
            spk2utts.setdefault(dd.utt2spk[utt], []).append(utt)
        groups = [spk2utts[s] for s in sorted(spk2utts)]
        if n > len(groups):
            raise DataError(f"cannot split {len(groups)} speakers into {n} parts (use --per-utt)", d / "utt2spk")
    cuts = balanced_cuts([len(g) for g in groups], n)
    with atomic_path(split_dir) as tmp:
        tmp.mkdir()
        for i in range(n):
            part_utts = [u for g in groups[cuts[i]:cuts[i + 1]] for u in g]
            _write_tables(tmp / str(i + 1), _subset_tables(dd, part_utts))
    return parts


# ---------------------------------------------------------------- subset / combine


def subset_data_dir(data_dir: str | os.PathLike, out: str | os.PathLike, utt_list: IdSource | None = None,
                    spk_list: IdSource | None = None, first: int | None = None, last: int | None = None) -> Path:
    """Write the subset of a data dir chosen by exactly one of: utterance ids, speaker ids, first/last N.

    ``utt_list``/``spk_list`` are files (first field of each line) or collections of ids; ids not in
    the data dir are ignored. ``first``/``last`` count utterances in C-sorted order.
    """
    chosen = [x is not None for x in (utt_list, spk_list, first, last)]
    if sum(chosen) != 1:
        raise ValueError("give exactly one of utt_list, spk_list, first, last")
    d, out = Path(data_dir), Path(out)
    if out.exists() and _same_dir(d, out):
        raise DataError("output dir is the input dir", out)
    dd = load_data_dir(d)
    check_consistent(dd)
    utts = sorted(dd.utt2spk)
    if utt_list is not None:
        keep = set(_read_ids(utt_list)) & set(utts)
        source: object = utt_list if isinstance(utt_list, (str, os.PathLike)) else d
    elif spk_list is not None:
        spks = set(_read_ids(spk_list))
        keep = {u for u in utts if dd.utt2spk[u] in spks}
        source = spk_list if isinstance(spk_list, (str, os.PathLike)) else d
    else:
        count = first if first is not None else last
        if not 1 <= count <= len(utts):
            raise DataError(f"asked for {count} utterances, the data dir has {len(utts)}", d / "utt2spk")
        keep = set(utts[:count] if first is not None else utts[-count:])
        source = d
    if not keep:
        raise DataError(f"no utterance of {d} selected", source)
    _write_new_dir(out, _subset_tables(dd, keep))
    return out


def combine_data_dirs(out: str | os.PathLike, dirs: Iterable[str | os.PathLike]) -> list[str]:
    """Combine data dirs into ``out``; returns the files left out because not every input has them.

    An utterance id in two inputs is an error; a speaker or recording in two inputs must have the
    same entry (e.g. gender) in both. All inputs have ``segments`` or none has.
    """
    out = Path(out)
    dds = [load_data_dir(d) for d in dirs]
    if not dds:
        raise DataError("no input data dirs", out)
    for dd in dds:
        if out.exists() and _same_dir(dd.path, out):
            raise DataError("output dir is one of the input dirs", out)
        if dd.segmented != dds[0].segmented:
            with_seg = dd if dd.segmented else dds[0]
            raise DataError(f"cannot combine dirs with segments ({with_seg.path}) and without", dd.path)
        check_consistent(dd)
    names = set.intersection(*(set(dd.tables) for dd in dds))
    skipped = sorted(set.union(*(set(dd.tables) for dd in dds)) - names)
    ordered = sorted(names, key=lambda n: (n != "utt2spk", n))  # duplicates are reported in utt2spk
    merged: dict[str, Table] = {name: {} for name in ordered}
    owner: dict[str, dict[str, Path]] = {name: {} for name in ordered}
    for dd in dds:
        for name in ordered:
            index = dd.index(name)
            for key, value in sorted(dd.tables[name].items()):
                if key not in merged[name]:
                    merged[name][key], owner[name][key] = value, dd.path
                elif index == "utt":
                    raise DataError(f"duplicate utterance id: also in {owner[name][key]}", dd.path / name, key=key)
                elif merged[name][key] != value:
                    what = "speaker" if index == "spk" else "recording"
                    raise DataError(f"{what} has a different entry in {owner[name][key] / name}", dd.path / name, key=key)
    combined = DataDir(out, merged)
    _write_new_dir(out, _subset_tables(combined, merged["utt2spk"]))
    return skipped


# ---------------------------------------------------------------- line filters


def filter_scp(id_list: IdSource, scp: str | os.PathLike | TextIO, exclude: bool = False, field: int = 1) -> list[str]:
    """Lines of ``scp`` (in their order, as written) whose ``field``-th field (1-based) is in ``id_list``.

    With ``exclude``, the lines whose field is not in it. ``scp`` may be an open text stream.
    """
    if field < 1:
        raise ValueError(f"field must be >= 1, got {field}")
    ids = set(_read_ids(id_list))
    if hasattr(scp, "read"):
        name = getattr(scp, "name", "<stream>")
        return _filter_lines(ids, iter_stream_lines(scp, name), exclude, field, name)
    return _filter_lines(ids, iter_raw_lines(scp), exclude, field, scp)


def _filter_lines(ids: set[str], lines: Iterable[tuple[int, str]], exclude: bool, field: int,
                  source: object = "<stream>") -> list[str]:
    kept = []
    for n, raw in lines:
        fields = raw.split()
        if not fields:
            continue
        if len(fields) < field:
            raise DataError(f"line has {len(fields)} field(s), no field {field}", source, n, fields[0])
        if (fields[field - 1] in ids) != exclude:
            kept.append(raw)
    return kept


def utt2spk_lines_to_spk2utt(lines: Iterable[str], source: object = "<stdin>") -> list[str]:
    """``spk utt...`` lines from ``utt spk`` lines; speakers in order of first appearance, utterances in input order."""
    spk2utt: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines, 1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DataError("expected '<utt> <spk>'", source, n, fields[0])
        if fields[0] in seen:
            raise DataError(f"duplicate utterance (first seen on line {seen[fields[0]]})", source, n, fields[0])
        seen[fields[0]] = n
        spk2utt.setdefault(fields[1], []).append(fields[0])
    return [f"{spk} {' '.join(utts)}" for spk, utts in spk2utt.items()]


def spk2utt_lines_to_utt2spk(lines: Iterable[str], source: object = "<stdin>") -> list[str]:
    """``utt spk`` lines from ``spk utt...`` lines, in input order."""
    out = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines, 1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise DataError("expected '<spk> <utt> [<utt>...]'", source, n, fields[0])
        for utt in fields[1:]:
            if utt in seen:
                raise DataError(f"utterance listed twice (first on line {seen[utt]})", source, n, utt)
            seen[utt] = n
            out.append(f"{utt} {fields[0]}")
    return out


def read_input(path: str | None) -> tuple[list[str], str]:
    """Lines of ``path``, or of stdin for ``None``/``-`` (for the filter scripts), read as every table is
    (:func:`embspace.data.tables.decode_lines`; blank lines kept, so list index + 1 is the line number);
    and the name to report."""
    if path is None or path == "-":
        return [line for _, line in iter_stream_lines(sys.stdin)], "<stdin>"
    return [line for _, line in iter_raw_lines(path)], path


def write_output(lines: list[str], path: str | None) -> None:
    """Write lines to ``path`` atomically, or to stdout for ``None``/``-``."""
    if path is None or path == "-":
        sys.stdout.writelines(line + "\n" for line in lines)
    else:
        write_lines(path, lines)
