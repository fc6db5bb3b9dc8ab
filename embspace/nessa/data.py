"""Inputs of NESSA: paired embeddings of the same utterances from two models, and enrollment profiles.

Every check names the file and key at fault (DataError): keys that do not pair up, dimensions that
do not match a saved mapper, a profile without utterances or with an unknown one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from embspace.data.tables import iter_lines
from embspace.embio import read_embeddings
from embspace.utils.errors import DataError


@dataclass
class Pairs:
    """Rows ``x[i]`` and ``y[i]`` are the same utterance ``keys[i]`` through models X and Y."""

    keys: list[str]
    x: np.ndarray
    y: np.ndarray

    def subset(self, keys: Sequence[str]) -> "Pairs":
        index = {k: i for i, k in enumerate(self.keys)}
        rows = np.array([index[k] for k in keys], dtype=np.int64)
        return Pairs(list(keys), self.x[rows], self.y[rows])


def pair_up(x_keys: Sequence[str], x: np.ndarray, y_keys: Sequence[str], y: np.ndarray,
            x_path: str | os.PathLike, y_path: str | os.PathLike, keys: Sequence[str] | None = None,
            keys_path: str | os.PathLike | None = None) -> Pairs:
    """Pair two embedding tables by key.

    Without ``keys`` both tables must hold the same keys; with ``keys`` (e.g. an utt2spk's), each
    of them must be in both. The first key that does not pair up is a DataError naming the file
    that lacks it.
    """
    xi = {k: i for i, k in enumerate(x_keys)}
    yi = {k: i for i, k in enumerate(y_keys)}
    if keys is None:
        for k in x_keys:
            if k not in yi:
                raise DataError(f"key of {x_path} is missing here: the two embedding sets do not pair up", y_path, key=k)
        for k in y_keys:
            if k not in xi:
                raise DataError(f"key of {y_path} is missing here: the two embedding sets do not pair up", x_path, key=k)
        keys = list(x_keys)
    else:
        keys = list(keys)
        for k in keys:
            for table, path in ((xi, x_path), (yi, y_path)):
                if k not in table:
                    raise DataError(f"utterance{f' of {keys_path}' if keys_path else ''} has no embedding here", path, key=k)
    if not keys:
        raise DataError("no paired embeddings", keys_path or x_path)
    return Pairs(keys, x[[xi[k] for k in keys]], y[[yi[k] for k in keys]])


def load_pairs(x_scp: str | os.PathLike, y_scp: str | os.PathLike, keys: Sequence[str] | None = None,
               keys_path: str | os.PathLike | None = None) -> Pairs:
    """Read two embedding scps and pair them (see :func:`pair_up`)."""
    xk, x = read_embeddings(x_scp)
    yk, y = read_embeddings(y_scp)
    return pair_up(xk, x, yk, y, x_scp, y_scp, keys, keys_path)


def check_dim(emb: np.ndarray, expected: int, path: str | os.PathLike, key: str, what: str) -> None:
    """A DataError when ``emb``'s dimension differs from ``expected`` (e.g. a saved mapper's input)."""
    if emb.shape[1] != expected:
        raise DataError(f"embedding dimension {emb.shape[1]} does not match {what} ({expected})", path, key=key)


def read_profiles(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read ``<profile> <utt1> <utt2> ...`` lines (spk2utt layout) in file order.

    A profile without utterances, a duplicate profile or a repeated utterance is a DataError.
    """
    profiles: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    for n, fields in iter_lines(path):
        name, utts = fields[0], fields[1:]
        if not utts:
            raise DataError("profile without utterances", path, n, name)
        if first.setdefault(name, n) != n:
            raise DataError(f"duplicate profile (first on line {first[name]})", path, n, name)
        if len(set(utts)) != len(utts):
            raise DataError("an utterance is listed twice in this profile", path, n, name)
        profiles[name] = utts
    if not profiles:
        raise DataError("no profiles", path)
    return profiles


def profile_rows(profiles: Mapping[str, Sequence[str]], keys: Sequence[str], profiles_path: str | os.PathLike,
                 emb_path: str | os.PathLike) -> list[np.ndarray]:
    """Row indices into ``keys`` of each profile's utterances; an unknown utterance is a DataError."""
    index = {k: i for i, k in enumerate(keys)}
    out = []
    for name, utts in profiles.items():
        if not utts:
            raise DataError("profile without utterances", profiles_path, key=name)
        missing = [u for u in utts if u not in index]
        if missing:
            raise DataError(f"utterance '{missing[0]}' of this profile has no embedding in {emb_path}", profiles_path,
                            key=name)
        out.append(np.array([index[u] for u in utts], dtype=np.int64))
    return out
