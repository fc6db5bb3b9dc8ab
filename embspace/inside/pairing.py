"""Which real speakers become parents: gender groups, exact nearest neighbours, pair selection.

Everything works on arrays (speaker ids, an ``(N, D)`` matrix of speaker embeddings, a gender per
speaker), so any backend can pair in any space. Modes (``MODES``):

* ``nn`` — inside each gender group, every speaker's top-``k`` neighbours by cosine; unordered pairs
  without duplicates, taken in order of neighbour rank (all 1st neighbours, then 2nd...) and, within
  a rank, of decreasing cosine;
* ``nn_chain`` — inside each group, a greedy walk from a random speaker to its nearest unvisited
  speaker; each step is one pair (a group of G speakers gives at most G-1 pairs);
* ``random`` — random same-group pairs (the ablation baseline of ``nn``);
* ``random_any`` — random pairs from all speakers, ignoring gender (the ablation of the gender rule).

``max_children`` caps how many pairs (children) one parent may be in. The nearest-neighbour search
is exact: blocked matrix products of unit vectors with a running top-k per row block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from embspace.utils.errors import DataError

MODES = ("nn", "nn_chain", "random", "random_any")
ANY_GROUP = "any"


@dataclass(frozen=True)
class Pair:
    """Two parents (``a`` < ``b`` in the speaker order), their group, cosine and neighbour rank
    (1 = one is the other's nearest neighbour; 0 when not chosen by neighbourhood)."""

    a: str
    b: str
    group: str
    cos: float
    rank: int

    def to_json(self) -> dict:
        return asdict(self)


def unit_rows(emb: np.ndarray, ids: Sequence[str] | None = None, source: object = None) -> np.ndarray:
    """Rows L2-normalised (float32); names the speaker of a zero or non-finite row."""
    x = np.asarray(emb, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] == 0:
        raise DataError(f"expected an (N, D) embedding matrix, got shape {x.shape}", source)
    norms = np.linalg.norm(x, axis=1)
    bad = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)))
    if len(bad):
        key = ids[bad[0]] if ids is not None else str(bad[0])
        raise DataError(f"{len(bad)} zero or non-finite embedding(s)", source, key=key)
    return x / norms[:, None]


def gender_groups(ids: Sequence[str], genders: Mapping[str, str], groups: Sequence[str] = ("m", "f"),
                  source: object = None, min_size: int = 2) -> dict[str, np.ndarray]:
    """``{group: indices into ids}``. A speaker without a gender is an error naming it; speakers of
    genders outside ``groups`` are left out; a group with fewer than ``min_size`` speakers is an error."""
    out: dict[str, list[int]] = {g: [] for g in groups}
    for i, spk in enumerate(ids):
        g = genders.get(spk)
        if g is None:
            raise DataError("speaker has no gender (spk2gender)", source, key=spk)
        if g in out:
            out[g].append(i)
    for g, members in out.items():
        if len(members) < min_size:
            raise DataError(f"gender group has {len(members)} speaker(s); pairing needs at least {min_size} "
                            "(leave the group out with --groups)", source, key=g)
    return {g: np.asarray(m, dtype=np.int64) for g, m in out.items()}


def top_k_neighbours(x: np.ndarray, k: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours (cosine, self excluded) of every row of the unit-row matrix ``x``:
    ``(indices (N, k), cosines (N, k))``, each row sorted by decreasing cosine (ties: lower index).

    Computed in row blocks (``block x N`` similarities at a time, a BLAS matrix product and a
    partial sort per block through torch), so memory stays ``O(block * N)``.
    """
    import torch

    n = x.shape[0]
    if not 1 <= k < n:
        raise DataError(f"k must be in [1, {n - 1}] for {n} speakers, got {k}", key="k")
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    idx = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        s = t[start:stop] @ t.T
        s[torch.arange(stop - start), torch.arange(start, stop)] = -float("inf")
        v, i = torch.topk(s, k, dim=1)
        v, i = v.numpy(), i.numpy()
        order = np.lexsort((i, -v), axis=1)  # by cosine, then index
        idx[start:stop] = np.take_along_axis(i, order, axis=1)
        sims[start:stop] = np.take_along_axis(v, order, axis=1)
    return idx, sims


def _nn_pairs(ids: Sequence[str], x: np.ndarray, members: np.ndarray, group: str, k: int) -> list[Pair]:
    """Candidate pairs of one group from every member's top-k list, sorted (rank, -cos, ids)."""
    k = min(k, len(members) - 1)
    nb, cs = top_k_neighbours(x[members], k)
    n = len(members)
    i = np.repeat(np.arange(n), k)
    j = nb.reshape(-1)
    rank = np.tile(np.arange(1, k + 1), n)
    cos = cs.reshape(-1)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    # one row per unordered pair: the best (lowest) rank it has in either direction
    order = np.lexsort((rank, hi, lo))
    lo, hi, rank, cos = lo[order], hi[order], rank[order], cos[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, rank, cos = lo[first], hi[first], rank[first], cos[first]
    order = np.lexsort((hi, lo, -cos, rank))
    return [Pair(ids[members[a]], ids[members[b]], group, round(float(c), 6), int(r))
            for a, b, r, c in zip(lo[order], hi[order], rank[order], cos[order])]


def _chain_pairs(ids: Sequence[str], x: np.ndarray, members: np.ndarray, group: str,
                 rng: np.random.Generator) -> list[Pair]:
    """Greedy nearest-unvisited walk over one group from a random start."""
    sub = x[members]
    visited = np.zeros(len(members), dtype=bool)
    cur = int(rng.integers(len(members)))
    visited[cur] = True
    pairs = []
    for _ in range(len(members) - 1):
        s = sub @ sub[cur]
        s[visited] = -np.inf
        nxt = int(np.argmax(s))
        a, b = sorted((int(members[cur]), int(members[nxt])))
        pairs.append(Pair(ids[a], ids[b], group, round(float(s[nxt]), 6), 1))
        visited[nxt] = True
        cur = nxt
    return pairs


def _random_pairs(ids: Sequence[str], x: np.ndarray, members: np.ndarray, group: str, count: int,
                  max_children: int, rng: np.random.Generator) -> list[Pair]:
    """``count`` distinct random pairs of ``members`` with at most ``max_children`` per parent."""
    n = len(members)
    possible = n * (n - 1) // 2
    children = np.zeros(n, dtype=np.int64)
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    attempts = 0
    while len(pairs) < count and attempts < 50 * count + 1000 and len(seen) < possible:
        attempts += 1
        i, j = (int(v) for v in rng.integers(n, size=2))
        key = (min(i, j), max(i, j))
        if i == j or key in seen:
            continue
        seen.add(key)
        if max_children and (children[i] >= max_children or children[j] >= max_children):
            continue
        children[[i, j]] += 1
        a, b = int(members[key[0]]), int(members[key[1]])
        pairs.append(Pair(ids[a], ids[b], group, round(float(x[a] @ x[b]), 6), 0))
    return pairs


def _take(cands: list[Pair], count: int, max_children: int) -> list[Pair]:
    """The first ``count`` candidates that respect the cap on children per parent."""
    children: dict[str, int] = {}
    out = []
    for p in cands:
        if len(out) == count:
            break
        if max_children and (children.get(p.a, 0) >= max_children or children.get(p.b, 0) >= max_children):
            continue
        children[p.a] = children.get(p.a, 0) + 1
        children[p.b] = children.get(p.b, 0) + 1
        out.append(p)
    return out


def group_quotas(num_identities: int, groups: Sequence[str], gender_ratio: float) -> dict[str, int]:
    """Identities per group: with two groups ``gender_ratio`` of them (rounded) from the first, the
    rest from the second; with one group all of them."""
    if num_identities < 1:
        raise DataError(f"need at least one identity, got {num_identities}", key="num_identities")
    if not 0.0 <= gender_ratio <= 1.0:
        raise DataError(f"must be in [0, 1], got {gender_ratio}", key="gender_ratio")
    if len(groups) == 1:
        return {groups[0]: num_identities}
    if len(groups) != 2:
        raise DataError(f"--gender-ratio splits two groups, got {len(groups)}: {','.join(groups)}", key="groups")
    first = int(round(num_identities * gender_ratio))
    return {groups[0]: first, groups[1]: num_identities - first}


def select_pairs(ids: Sequence[str], emb: np.ndarray, genders: Mapping[str, str], mode: str = "nn",
                 num_identities: int = 1, k: int = 1, max_children: int = 0, gender_ratio: float = 0.5,
                 groups: Sequence[str] = ("m", "f"), seed: int = 0, source: object = None) -> list[Pair]:
    """Choose ``num_identities`` parent pairs (see the module docstring for the modes).

    ``max_children`` = 0 means no cap. Asking for more pairs than a mode can give (e.g. ``nn`` with a
    small ``k``) is a DataError naming the group, never a silent shortfall.
    """
    if mode not in MODES:
        raise DataError(f"unknown pair mode (choose from {', '.join(MODES)})", key=mode)
    seen: set[str] = set()
    for spk in ids:
        if spk in seen:
            raise DataError("duplicate speaker id", source, key=spk)
        seen.add(spk)
    x = unit_rows(emb, ids, source)
    if x.shape[0] != len(ids):
        raise DataError(f"{len(ids)} speaker ids but {x.shape[0]} embeddings", source)
    if max_children < 0:
        raise DataError("must be >= 0 (0: no cap)", key="max_children")
    rng = np.random.default_rng(seed)
    if mode == "random_any":
        members = gender_groups(ids, genders, groups, source, min_size=0)
        everyone = np.sort(np.concatenate(list(members.values())))
        if len(everyone) < 2:
            raise DataError(f"pairing needs at least 2 speakers of groups {','.join(groups)}", source)
        quotas = {ANY_GROUP: num_identities}
        found = {ANY_GROUP: _random_pairs(ids, x, everyone, ANY_GROUP, num_identities, max_children, rng)}
    else:
        members = gender_groups(ids, genders, groups, source)
        quotas = group_quotas(num_identities, list(groups), gender_ratio)
        found = {}
        for g in groups:
            if mode == "nn":
                found[g] = _take(_nn_pairs(ids, x, members[g], g, k), quotas[g], max_children)
            elif mode == "nn_chain":
                found[g] = _take(_chain_pairs(ids, x, members[g], g, rng), quotas[g], max_children)
            else:
                found[g] = _random_pairs(ids, x, members[g], g, quotas[g], max_children, rng)
    for g, want in quotas.items():
        if len(found[g]) < want:
            hint = {"nn": f"raise k (now {k}) or max_children (now {max_children or 'no cap'})",
                    "nn_chain": "a chain gives at most (group size - 1) pairs",
                    }.get(mode, f"raise max_children (now {max_children or 'no cap'})")
            raise DataError(f"mode {mode} gives only {len(found[g])} pairs in this group, {want} asked for; {hint}",
                            source, key=g)
    return [p for g in quotas for p in found[g]]
