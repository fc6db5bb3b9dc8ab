"""Embedding tables: read/write kaldiio ark/scp, merge per-job scps, per-speaker means.

Every vector read or written is checked: finite, not all zero, same dimension as the others.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import kaldiio
import kaldiio.matio
import numpy as np

from embspace.data.tables import iter_lines, read_table, write_lines
from embspace.utils.atomic import atomic_open, tmp_name
from embspace.utils.errors import DataError


def check_vector(vec: np.ndarray, path: str | os.PathLike, key: str, dim: int | None = None) -> np.ndarray:
    """Return ``vec`` as a 1-D float32 array; NaN/inf, all-zero or wrong dimension raise DataError."""
    v = np.asarray(vec)
    if v.ndim == 2 and v.shape[0] == 1:
        v = v[0]
    if v.ndim != 1 or v.size == 0:
        raise DataError(f"expected a vector, got an array of shape {v.shape}", path, key=key)
    v = v.astype(np.float32, copy=False)
    if dim is not None and v.shape[0] != dim:
        raise DataError(f"dimension {v.shape[0]} differs from the first vector's {dim}", path, key=key)
    if not np.isfinite(v).all():
        raise DataError("embedding contains NaN or inf", path, key=key)
    if not v.any():
        raise DataError("embedding is all zeros", path, key=key)
    return v


class TruncatedArk(Exception):
    """A read stopped at the end of an ark file before the object it reads was complete."""


class _StrictArk:
    """A binary ark file whose sized reads either return every byte asked for or raise TruncatedArk
    (kaldiio takes whatever a short read returns, so a cut-off vector would come back shorter)."""

    def __init__(self, path: str):
        self._f = open(path, "rb")

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        if size is not None and size > 0 and len(data) < size:
            raise TruncatedArk
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()


_ARK_OFFSET = re.compile(r"(.+):(\d+)")


def read_scp_entries(scp_path: str | os.PathLike) -> list[tuple[int, str, str]]:
    """``(line, key, location)`` of each entry of an scp, read as every Kaldi table is (BOM, CRLF...);
    a line without exactly two fields or a duplicate key is a DataError naming the lines."""
    entries = []
    first: dict[str, int] = {}
    for n, fields in iter_lines(scp_path):
        if len(fields) != 2:
            raise DataError("expected '<key> <ark>:<offset>'", scp_path, n, fields[0])
        n0 = first.setdefault(fields[0], n)
        if n0 != n:
            raise DataError(f"duplicate key (first seen on line {n0})", scp_path, n, fields[0])
        entries.append((n, fields[0], fields[1]))
    return entries


def _load_entry(location: str, arks: dict[str, _StrictArk]) -> np.ndarray:
    """The object at an scp location ``<ark>:<offset>`` (or another kaldiio location: a pipe, a slice)."""
    m = _ARK_OFFSET.fullmatch(location)
    if m is None:
        return kaldiio.load_mat(location)
    ark = m.group(1)
    if ark not in arks:
        arks[ark] = _StrictArk(ark)
    fd = arks[ark]
    fd.seek(int(m.group(2)))
    return kaldiio.matio.read_kaldi(fd)


def read_embeddings(scp_path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Read an embedding scp in file order into ``(keys, float32 matrix N x D)``.

    Errors name the scp line and key: a duplicate key, an ark that is missing, unreadable or
    truncated (a vector cut off by the end of the file), a bad vector (see :func:`check_vector`).
    """
    scp_path = Path(scp_path)
    keys: list[str] = []
    rows: list[np.ndarray] = []
    dim: int | None = None
    arks: dict[str, _StrictArk] = {}
    try:
        for n, key, location in read_scp_entries(scp_path):
            try:
                vec = _load_entry(location, arks)
            except TruncatedArk:
                raise DataError(f"ark is truncated: the vector at {location} ends past the end of the file",
                                scp_path, n, key) from None
            except OSError as e:
                raise DataError(f"cannot read {location}: {e.strerror or e}", scp_path, n, key) from None
            except Exception as e:  # kaldiio raises ValueError, AssertionError, RuntimeError...
                raise DataError(f"cannot read an embedding at {location} ({type(e).__name__}: {e})".replace("\n", " "),
                                scp_path, n, key) from None
            v = check_vector(vec, scp_path, key, dim)
            dim = v.shape[0]
            keys.append(key)
            rows.append(v)
    finally:
        for fd in arks.values():
            fd.close()
    if not rows:
        raise DataError("no embeddings", scp_path)
    return keys, np.stack(rows)


def read_vector(path: str | os.PathLike) -> np.ndarray:
    """Read one vector (Kaldi binary/text ``mean.vec`` or plain whitespace-separated numbers)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path)
    try:
        vec = kaldiio.load_mat(str(path))
    except Exception:  # not a Kaldi object: plain numbers, optionally in [ ]
        try:
            text = path.read_text(encoding="utf-8").replace("[", " ").replace("]", " ")
            vec = np.array([float(x) for x in text.split()], dtype=np.float32)
        except (UnicodeDecodeError, ValueError) as e:
            raise DataError(f"cannot read a vector: {e}", path) from e
    return check_vector(vec, path, path.name)


def write_embeddings(ark_path: str | os.PathLike, scp_path: str | os.PathLike,
                     items: Iterable[tuple[str, np.ndarray]], allow_empty: bool = False) -> int:
    """Write ``(key, vector)`` pairs as float32 ark + scp; returns the number written.

    Both go to temporary names first; the scp is rewritten to point at the final ark, then the ark
    and last the scp are renamed into place. A bad vector (NaN/inf, zero, dimension) or duplicate key
    raises DataError and leaves existing files untouched. No pair at all is an error too, unless
    ``allow_empty`` (a parallel job with no utterance writes an empty ark and scp).
    """
    ark_path, scp_path = Path(ark_path), Path(scp_path)
    for p in (ark_path, scp_path):
        if "," in str(p):
            raise DataError("commas are not allowed in kaldiio output paths", p)
        p.parent.mkdir(parents=True, exist_ok=True)
    tmp_ark, tmp_scp = tmp_name(ark_path), tmp_name(scp_path)
    seen: set[str] = set()
    dim: int | None = None
    try:
        with kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as writer:
            for key, vec in items:
                if not key or any(c.isspace() for c in key):
                    raise DataError("empty key or key with whitespace", ark_path, key=key)
                if key in seen:
                    raise DataError("duplicate key", ark_path, key=key)
                seen.add(key)
                v = check_vector(vec, ark_path, key, dim)
                dim = v.shape[0]
                writer(key, v)
        if not seen and not allow_empty:
            raise DataError("no embeddings to write", ark_path)
        lines = []
        for n, line in enumerate(tmp_scp.read_text(encoding="utf-8").splitlines(), 1):
            key, _, loc = line.partition(" ")
            arkname, _, offset = loc.rpartition(":")
            if arkname != str(tmp_ark):
                raise RuntimeError(f"{tmp_scp}:{n}: unexpected ark path {arkname!r}")
            lines.append(f"{key} {ark_path}:{offset}")
        write_lines(tmp_scp, lines)
        os.replace(tmp_ark, ark_path)
        os.replace(tmp_scp, scp_path)
    finally:
        for p in (tmp_ark, tmp_scp):
            if p.exists():
                p.unlink()
    return len(seen)


def rebase_scp(scp: str | os.PathLike, old_dir: str | os.PathLike, new_dir: str | os.PathLike) -> None:
    """Rewrite ``key old_dir/x.ark:off`` lines of ``scp`` as ``key new_dir/x.ark:off`` (atomically).

    Used before a folder of arks is renamed from its temporary name to its final one.
    """
    old, new = str(old_dir).rstrip("/") + "/", str(new_dir).rstrip("/") + "/"
    lines = []
    for _, fields in iter_lines(scp):
        loc = fields[1] if len(fields) > 1 else ""
        lines.append(f"{fields[0]} {new + loc[len(old):] if loc.startswith(old) else loc}")
    write_lines(scp, lines)


def merge_scps(parts: Sequence[str | os.PathLike], out_scp: str | os.PathLike) -> int:
    """Concatenate scp files in order (per-job ``xvector.JOB.scp``); a duplicate key is an error."""
    first: dict[str, tuple[str, int]] = {}
    lines: list[str] = []
    for part in parts:
        for n, fields in iter_lines(part):
            if len(fields) != 2:
                raise DataError("expected '<key> <ark>:<offset>'", part, n, fields[0])
            key = fields[0]
            if key in first:
                p0, n0 = first[key]
                raise DataError(f"duplicate key (first seen at {p0}:{n0})", part, n, key)
            first[key] = (str(part), n)
            lines.append(f"{key} {fields[1]}")
    if not lines:
        raise DataError("no entries in " + " ".join(map(str, parts)), out_scp)
    write_lines(out_scp, lines)
    return len(lines)


def mean_by_speaker(keys: Sequence[str], emb: np.ndarray, utt2spk: dict, utt2spk_path: object = None,
                    scp_path: object = None, l2_normalize: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-speaker mean of utterance vectors: ``(sorted speakers, float32 means, utterance counts)``.
    An utterance missing from ``utt2spk`` is an error naming it."""
    spk_of = []
    for k in keys:
        spk = utt2spk.get(k)
        if spk is None:
            raise DataError(f"utterance in {scp_path} is missing from utt2spk", utt2spk_path, key=k)
        if not isinstance(spk, str):
            raise DataError("expected one speaker per utterance", utt2spk_path, key=k)
        spk_of.append(spk)
    x = np.asarray(emb, dtype=np.float64)
    if l2_normalize:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    speakers, inv = np.unique(np.array(spk_of), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=len(speakers))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.add.reduceat(x[order], starts, axis=0)
    return [str(s) for s in speakers], (sums / counts[:, None]).astype(np.float32), counts


def speaker_means(utt_scp: str | os.PathLike, utt2spk_path: str | os.PathLike,
                  out_ark: str | os.PathLike, out_scp: str | os.PathLike,
                  num_utts_path: str | os.PathLike, l2_normalize: bool = False) -> dict[str, int]:
    """Average utterance embeddings per speaker into ``spk_xvector.ark/scp`` and ``num_utts.ark``.

    With ``l2_normalize`` each utterance vector is length-normalised before averaging.
    Returns ``{speaker: number of utterances}``.
    """
    keys, emb = read_embeddings(utt_scp)
    speakers, means, counts = mean_by_speaker(keys, emb, read_table(utt2spk_path), utt2spk_path, utt_scp, l2_normalize)
    for spk, m in zip(speakers, means):
        check_vector(m, out_ark, str(spk))
    write_embeddings(out_ark, out_scp, zip(speakers, means))
    with atomic_open(num_utts_path, "w", encoding="utf-8") as f:
        for spk, c in zip(speakers, counts):
            f.write(f"{spk} {int(c)}\n")
    return {s: int(c) for s, c in zip(speakers, counts)}
