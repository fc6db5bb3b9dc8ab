"""Training pairs and the dev split of SEED, from embedding tables.

Copies of an utterance made through the frozen extractor are keyed ``<utt>@<kind>@<draw>``
(``kind`` in noise/music/reverb). :func:`plan_copies` decides, from the speaker table and the
seed alone, which speakers are held out for model selection (dev) and which utterances get
augmented copies, so the copy-extraction step and the training step agree without sharing state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch

from embspace.seed.config import DataConfig
from embspace.utils.errors import DataError

SEP = "@"


def copy_key(utt: str, kind: str, draw: int) -> str:
    """Key of the ``draw``-th ``kind`` copy of ``utt``."""
    return f"{utt}{SEP}{kind}{SEP}{draw}"


def parse_copy_key(key: str) -> tuple[str, str, int]:
    """Inverse of :func:`copy_key`; a malformed key raises ValueError."""
    utt, kind, draw = key.rsplit(SEP, 2)
    return utt, kind, int(draw)


@dataclass
class CopyPlan:
    dev_speakers: list[str]
    train_utts: list[str]  # utterances of training speakers that get augmented copies
    dev_utts: list[str]  # utterances of dev speakers that get augmented copies

    def copy_keys(self, kinds: Sequence[str], draws: int) -> list[str]:
        """Every copy key the plan asks for, sorted."""
        return sorted(copy_key(u, k, d) for u in self.train_utts + self.dev_utts for k in kinds for d in range(draws))


def plan_copies(utt2spk: Mapping[str, str], cfg: DataConfig, seed: int) -> CopyPlan:
    """Hold out ``cfg.dev_speakers`` speakers; pick the utterances that get copies (deterministic)."""
    speakers = sorted(set(utt2spk.values()))
    if len(speakers) < cfg.dev_speakers + 1:
        raise DataError(f"{len(speakers)} speakers: too few to hold out {cfg.dev_speakers} for dev and train on the rest")
    rng = random.Random(f"seed-plan-{seed}")
    dev = sorted(rng.sample(speakers, cfg.dev_speakers))
    by_spk: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        by_spk.setdefault(utt2spk[utt], []).append(utt)
    train_utts, dev_utts = [], []
    for spk in speakers:
        utts = by_spk[spk]
        n = cfg.dev_utts_per_speaker if spk in dev else cfg.aug_utts_per_speaker
        chosen = sorted(rng.sample(utts, min(n, len(utts))))
        (dev_utts if spk in dev else train_utts).extend(chosen)
    return CopyPlan(dev, train_utts, dev_utts)


def training_pairs(clean: Mapping[str, np.ndarray], copies: Mapping[str, np.ndarray], utt2spk: Mapping[str, str],
                   plan: CopyPlan, clean_pairs: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)`` [N, D]: each training-speaker copy → its clean embedding, and (with
    ``clean_pairs``) each training-speaker clean embedding → itself."""
    dev = set(plan.dev_speakers)
    inputs, targets = [], []
    if clean_pairs:
        for utt in sorted(clean):
            if utt2spk.get(utt) is not None and utt2spk[utt] not in dev:
                inputs.append(clean[utt])
                targets.append(clean[utt])
    for key in sorted(copies):
        utt = parse_copy_key(key)[0]
        if utt2spk.get(utt) in dev:
            continue
        if utt not in clean:
            raise DataError("copy of an utterance that has no clean embedding", key=key)
        inputs.append(copies[key])
        targets.append(clean[utt])
    if not inputs:
        raise DataError("no training pairs (every speaker is a dev speaker?)")
    return np.stack(inputs).astype(np.float32), np.stack(targets).astype(np.float32)


@dataclass
class DevSet:
    """Dev embeddings (clean of every dev utterance, then the dev copies) and two trial lists as index pairs."""

    keys: list[str]
    emb: np.ndarray
    lists: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # name -> (enroll idx, test idx, target)


def dev_set(clean: Mapping[str, np.ndarray], copies: Mapping[str, np.ndarray], utt2spk: Mapping[str, str],
            plan: CopyPlan) -> DevSet:
    """``conventional``: all pairs of dev clean embeddings; ``augmented``: dev clean enrollment vs
    dev copies, without pairs of an utterance with its own copy."""
    dev = set(plan.dev_speakers)
    clean_keys = sorted(u for u in clean if utt2spk.get(u) in dev)
    copy_keys = sorted(k for k in copies if utt2spk.get(parse_copy_key(k)[0]) in dev)
    if len(clean_keys) < 2 or not copy_keys:
        raise DataError(f"dev set too small ({len(clean_keys)} clean dev embeddings, {len(copy_keys)} copies)")
    keys = clean_keys + copy_keys
    emb = np.stack([clean[k] for k in clean_keys] + [copies[k] for k in copy_keys]).astype(np.float32)
    spk = np.array([utt2spk[k] for k in clean_keys] + [utt2spk[parse_copy_key(k)[0]] for k in copy_keys])
    src = np.array(clean_keys + [parse_copy_key(k)[0] for k in copy_keys])
    n = len(clean_keys)
    i, j = np.triu_indices(n, k=1)
    lists = {"conventional": (i, j, spk[i] == spk[j])}
    e, t = np.meshgrid(np.arange(n), np.arange(n, len(keys)), indexing="ij")
    e, t = e.ravel(), t.ravel()
    keep = src[e] != src[t]
    lists["augmented"] = (e[keep], t[keep], spk[e[keep]] == spk[t[keep]])
    return DevSet(keys, emb, lists)


class PairBatches:
    """Shuffled mini-batches of ``(inputs, targets)``; the order is a function of ``(seed, epoch)``."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int, seed: int) -> None:
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.seed = batch_size, seed

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    def __call__(self, epoch: int, start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.from_numpy(np.random.default_rng([self.seed, epoch]).permutation(len(self.inputs)))
        for b in range(start_batch, len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.inputs[idx], self.targets[idx]
