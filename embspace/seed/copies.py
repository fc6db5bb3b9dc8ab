"""Augmented copies of training utterances for SEED (noise, music, reverberation) through lhotse.

Sources: MUSAN-style noise and music manifests and real or simulated RIR manifests when given,
else generated coloured noise, tonal "music" and synthetic RIRs (``embspace.training``). Every
copy is drawn from a generator seeded by ``(seed, utterance, kind, draw)``, so the copies do not
depend on how the work is split into jobs.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from lhotse import CutSet, RecordingSet
from lhotse.cut import Cut
from lhotse.utils import fastcopy

from embspace.extract import split_for_job
from embspace.seed.config import KINDS, AugmentConfig, load_config
from embspace.seed.data import copy_key, plan_copies
from embspace.training.augment import load_noise_cuts, mix_noise
from embspace.training.noise_bank import generated_noise_bank, tonal_music_bank
from embspace.training.rir import rir_bank


def _as_cuts(recordings) -> list[Cut]:
    return list(CutSet.from_manifests(recordings=RecordingSet.from_recordings(recordings)))


class CopyMaker:
    """``maker.copy(cut, kind, rng)``: one augmented copy of ``cut``."""

    def __init__(self, cfg: AugmentConfig, noise_manifest: str | None = None, music_manifest: str | None = None,
                 rir_manifest: str | None = None) -> None:
        self.cfg = cfg
        self.noises = load_noise_cuts(noise_manifest) if noise_manifest else _as_cuts(generated_noise_bank(cfg.num_noises, cfg.bank_seed))
        self.music = load_noise_cuts(music_manifest) if music_manifest else _as_cuts(tonal_music_bank(cfg.num_music, cfg.bank_seed))
        self.rirs = (list(RecordingSet.from_file(rir_manifest)) if rir_manifest
                     else rir_bank(cfg.num_rirs, cfg.bank_seed, t60_range=tuple(cfg.t60)))

    def copy(self, cut: Cut, kind: str, rng: np.random.Generator) -> Cut:
        """``cut`` (its audio) with noise, music or reverberation."""
        cut = cut.drop_features()
        if kind == "reverb":
            return cut.reverb_rir(self.rirs[int(rng.integers(len(self.rirs)))])
        if kind == "noise":
            return mix_noise(cut, self.noises[int(rng.integers(len(self.noises)))], self.cfg.noise_snr, rng)
        if kind == "music":
            return mix_noise(cut, self.music[int(rng.integers(len(self.music)))], self.cfg.music_snr, rng)
        raise ValueError(f"unknown copy kind {kind!r} (choose from {', '.join(KINDS)})")

    def make(self, spec: tuple[Cut, str, int], seed: int) -> Cut:
        """The copy ``(cut, kind, draw)`` of :func:`copy_specs`, its id set to :func:`copy_key`."""
        cut, kind, draw = spec
        h = int.from_bytes(hashlib.blake2b(cut.id.encode(), digest_size=8).digest(), "little")
        rng = np.random.default_rng([seed, h, KINDS.index(kind), draw])
        return fastcopy(self.copy(cut, kind, rng), id=copy_key(cut.id, kind, draw))


def copy_specs(cuts: Iterable[Cut], kinds: Sequence[str], draws: int) -> list[tuple[Cut, str, int]]:
    """Every ``(cut, kind, draw)`` to make, sorted by copy key (split this list over jobs)."""
    specs = [(cut, kind, d) for cut in cuts for kind in kinds for d in range(draws)]
    return sorted(specs, key=lambda s: copy_key(s[0].id, s[1], s[2]))


class LazyCuts:
    """A sized iterable that renders each item when it is reached."""

    def __init__(self, items: list, fn: Callable) -> None:
        self.items, self.fn = items, fn

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator:
        return map(self.fn, self.items)


def job_copies(cuts: Sequence[Cut], config: str, job: int, nj: int, noise_manifest: str | None = None,
               music_manifest: str | None = None, rir_manifest: str | None = None) -> LazyCuts:
    """The augmented copies of job ``job`` of ``nj`` (lazily rendered) of the utterances that the
    copy plan of the SEED config ``config`` selects from ``cuts`` (sorted by id)."""
    cfg = load_config(config)
    plan = plan_copies({c.id: c.supervisions[0].speaker for c in cuts}, cfg.data, cfg.seed)
    chosen = set(plan.train_utts + plan.dev_utts)
    specs = split_for_job(copy_specs([c for c in cuts if c.id in chosen], cfg.data.kinds, cfg.data.aug_epochs), job, nj)
    maker = CopyMaker(cfg.augment, noise_manifest, music_manifest, rir_manifest)
    return LazyCuts(specs, lambda spec: maker.make(spec, cfg.seed))
