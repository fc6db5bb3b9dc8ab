"""Parallel pairs for emotion-invariant training: every training item is an (anchor, partner) pair of
crops of one speaker that differ in emotion.

* Plain pairs (every component off): the anchor is a crop of the sampled utterance, the partner a
  crop of another utterance of the speaker from the other side (neutral <-> emotional). The baseline
  fine-tune sees exactly these pairs with only the AAM-softmax loss.
* CopyPaste (``copypaste.enable``, with probability ``p_cp``): ``orig_vs_cp``: anchor = a crop of the
  sampled utterance, partner = a neutral piece joined to an emotional piece (scheme ``neutral``) or two
  pieces of one emotion (``same_emotion``), where the emotional piece is the sampled utterance when it
  is emotional. ``emo_swap``: anchor = x + e1, partner = x + e2 with one shared neutral window x and two
  emotions e1 != e2. Order of the pieces: ``random``, ``neutral_first`` or ``emotional_first``.
* Emotion-aware masking (``em.enable``): the partner (or both) has its highest-energy frames hidden
  with probability ``p_em``, on the features or on the waveform (:mod:`embspace.emotion.masking`).

:func:`collate_pairs` stacks a batch of B pairs as ``(feats [2B, T, F], labels [2B], pairs [K, 2])``
(anchors first); ``pairs`` are the batch positions that the ERL term compares: all B pairs, or with
``erl.pairs: copypaste`` only the K pairs whose partner is a CopyPaste sample (every crop still goes
to the AAM-softmax loss).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from lhotse.cut import Cut

from embspace.data.pipes import load_audio
from embspace.emotion.config import EmotionOptions
from embspace.emotion.copypaste import join, piece_lengths, window
from embspace.emotion.masking import fbank_energy, frame_rms, mask_features, mask_waveform, select_frames
from embspace.training.dataset import mean_normalise
from embspace.utils.errors import DataError

log = logging.getLogger("embspace.emotion")

PairItem = tuple[torch.Tensor, torch.Tensor, int, bool]  # anchor, partner, speaker label, CopyPaste pair


def emotion_of(cut: Cut, field: str) -> str:
    """The emotion label of ``cut`` (``supervision.custom[field]``); a missing label is a DataError."""
    sup = cut.supervisions[0] if cut.supervisions else None
    custom = (sup.custom or {}) if sup is not None else {}
    if field not in custom or custom[field] in (None, ""):
        raise DataError(f"no emotion label '{field}' in supervision.custom", key=cut.id)
    return str(custom[field])


@dataclass
class Selection:
    """The cuts usable for parallel pairs, their labels, and what was left out (counts for the log)."""

    cuts: list[Cut]
    emotions: list[str]
    skipped: Counter

    def summary(self) -> str:
        parts = [f"{len(self.cuts)} utterances of {len({c.supervisions[0].speaker for c in self.cuts})} speakers"]
        parts += [f"skipped {n} {what}" for what, n in sorted(self.skipped.items()) if n]
        return ", ".join(parts)


def select_cuts(cuts: Sequence[Cut], opts: EmotionOptions, source: str = "cuts") -> Selection:
    """Keep the cuts that can form pairs. Left out (counted): utterances shorter than ``min_frames``,
    labels outside ``emotions`` when ``unknown_emotion: skip`` (an error otherwise, naming the cut),
    and speakers left without neutral or without emotional speech."""
    allowed = set(opts.emotions) | {opts.neutral_label} if opts.emotions is not None else None
    skipped: Counter = Counter()
    kept: list[tuple[Cut, str]] = []
    for cut in cuts:
        label = emotion_of(cut, opts.emotion_field)
        if allowed is not None and label not in allowed:
            if opts.unknown_emotion == "error":
                raise DataError(f"unknown emotion label '{label}' (expected one of {', '.join(sorted(allowed))}; "
                                "or set emotion.unknown_emotion: skip)", source, key=cut.id)
            skipped["utterances with an unknown emotion label"] += 1
            continue
        if (cut.num_frames or 0) < opts.min_frames:
            skipped[f"utterances shorter than min_frames={opts.min_frames}"] += 1
            continue
        kept.append((cut, label))
    sides: dict[str, set[bool]] = {}
    for cut, label in kept:
        sides.setdefault(cut.supervisions[0].speaker, set()).add(label == opts.neutral_label)
    no_neutral = {s for s, v in sides.items() if True not in v}
    no_emotional = {s for s, v in sides.items() if False not in v}
    skipped["speakers without neutral speech"] += len(no_neutral)
    skipped["speakers without emotional speech"] += len(no_emotional)
    final = [(c, e) for c, e in kept if c.supervisions[0].speaker not in no_neutral | no_emotional]
    if not final:
        raise DataError("no speaker has both neutral and emotional utterances long enough "
                        f"({', '.join(f'{k}: {v}' for k, v in skipped.items() if v)})", source)
    return Selection([c for c, _ in final], [e for _, e in final], skipped)


@dataclass
class Piece:
    """A window of one utterance in a view: ``length`` frames from ``start`` (None: random)."""

    index: int
    length: int
    start: int | None = None


class ParallelPairDataset(torch.utils.data.Dataset):
    """Items are ``(utterance_index, seed)`` from a speaker-balanced sampler; each returns
    ``(anchor [T, F], partner [T, F], speaker_label, copypaste)`` (both views mean-normalised;
    ``copypaste``: whether the pair is a CopyPaste pair, see :meth:`plan`)."""

    def __init__(self, selection: Selection, spk2id: dict[str, int], num_frames: int, opts: EmotionOptions,
                 num_mel_bins: int | None = None) -> None:
        self.cuts, self.emotions, self.opts, self.num_frames = selection.cuts, selection.emotions, opts, num_frames
        self.spk2id = spk2id
        self.labels = [spk2id[c.supervisions[0].speaker] for c in self.cuts]
        self.neutral: dict[int, list[int]] = {}
        self.emotional: dict[int, dict[str, list[int]]] = {}
        for i, (lab, emo) in enumerate(zip(self.labels, self.emotions)):
            if emo == opts.neutral_label:
                self.neutral.setdefault(lab, []).append(i)
            else:
                self.emotional.setdefault(lab, {}).setdefault(emo, []).append(i)
        self.all_emotional = {s: [i for v in d.values() for i in v] for s, d in self.emotional.items()}
        self._energy: dict[int, np.ndarray] = {}
        self._extractor = None
        if opts.em.enable and opts.em.domain == "waveform":
            from embspace.features.fbank import make_extractor

            bins = num_mel_bins or (self.cuts[0].num_features if self.cuts[0].has_features else 80)
            self._extractor = make_extractor(bins)

    def __len__(self) -> int:
        return len(self.cuts)

    def collate(self, batch: list[PairItem]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """See :func:`collate_pairs` (ERL pairs restricted to CopyPaste pairs under ``erl.pairs: copypaste``)."""
        return collate_pairs(batch, copypaste_only=self.opts.erl.pairs == "copypaste")

    # -- planning: which windows make the two views ---------------------------------------------
    @staticmethod
    def _pick(rng: np.random.Generator, items: list[int], exclude: int | None = None) -> int:
        pool = [i for i in items if i != exclude] or items
        return pool[int(rng.integers(len(pool)))]

    def _neutral_first(self, rng: np.random.Generator) -> bool:
        order = self.opts.copypaste.order
        return order == "neutral_first" or (order == "random" and rng.random() < 0.5)

    def plan(self, index: int, rng: np.random.Generator) -> tuple[list[Piece], list[Piece]]:
        """The pieces of the anchor and of the partner view for the sampled utterance ``index``.
        A CopyPaste pair (drawn with probability ``p_cp``) is the one whose partner has two pieces;
        a plain pair has one piece in each view."""
        T, cp = self.num_frames, self.opts.copypaste
        spk, is_neutral = self.labels[index], self.emotions[index] == self.opts.neutral_label
        neutral, emotional = self.neutral[spk], self.all_emotional[spk]
        if not (cp.enable and rng.random() < cp.p_cp):
            other = self._pick(rng, emotional) if is_neutral else self._pick(rng, neutral)
            return [Piece(index, T)], [Piece(other, T)]
        first, second = piece_lengths(T, cp.segment_frames, cp.crossfade_frames, rng)
        if cp.pair_mode == "orig_vs_cp":
            e = self._pick(rng, emotional) if is_neutral else index
            scheme = cp.scheme if cp.scheme != "both" else ("neutral" if rng.random() < 0.5 else "same_emotion")
            if scheme == "neutral":
                other = self._pick(rng, neutral, exclude=index if is_neutral else None)
            else:
                other = self._pick(rng, self.emotional[spk][self.emotions[e]], exclude=e)
            a, b = (other, e) if self._neutral_first(rng) else (e, other)
            return [Piece(index, T)], [Piece(a, first), Piece(b, second)]
        # emo_swap: x + e1 versus x + e2, one shared window of the neutral utterance x
        x = index if is_neutral else self._pick(rng, neutral)
        e1 = self._pick(rng, emotional) if is_neutral else index
        others = [k for k in sorted(self.emotional[spk]) if k != self.emotions[e1]]
        e2 = (self._pick(rng, self.emotional[spk][others[int(rng.integers(len(others)))]]) if others
              else self._pick(rng, self.emotional[spk][self.emotions[e1]], exclude=e1))
        views = []
        neutral_first = self._neutral_first(rng)
        lx, le = (first, second) if neutral_first else (second, first)
        shared = Piece(x, lx, int(rng.integers(0, max(1, (self.cuts[x].num_frames or lx) - lx + 1))))
        for e in (e1, e2):
            piece = Piece(e, le)
            views.append([shared, piece] if neutral_first else [piece, shared])
        return views[0], views[1]

    # -- rendering: features of a view ----------------------------------------------------------
    def _features(self, index: int) -> np.ndarray:
        feats = self.cuts[index].load_features()
        if feats is None or len(feats) == 0:
            raise DataError("no features for utterance", key=self.cuts[index].id)
        return np.asarray(feats, dtype=np.float32)

    def _frame_energy(self, index: int, feats: np.ndarray) -> np.ndarray:
        """Per-frame energy of a whole utterance, aligned with its features (cached)."""
        if self.opts.em.energy == "fbank":
            return fbank_energy(feats)
        if index not in self._energy:
            cut = self.cuts[index]
            rms = frame_rms(load_audio(cut)[0], cut.sampling_rate, self.opts.em.win_ms, self.opts.em.hop_ms)
            if len(rms) < len(feats):  # a frame more or less at the end (rounding): pad with the edge
                rms = np.pad(rms, (0, len(feats) - len(rms)), mode="edge")
            self._energy[index] = rms[:len(feats)]
        return self._energy[index]

    def _render_fbank(self, pieces: list[Piece], rng: np.random.Generator, masked: bool) -> np.ndarray:
        feats, energy = [], []
        for p in pieces:
            full = self._features(p.index)
            win, start = window(full, p.length, rng, p.start)
            feats.append(win)
            if masked:
                energy.append(window(self._frame_energy(p.index, full), p.length, rng, start)[0])
        cf = self.opts.copypaste.crossfade_frames
        out = join(feats, cf)
        if masked:
            em = self.opts.em
            out = mask_features(out, select_frames(join(energy, cf), em), em.fill)
        return out

    def _render_waveform(self, pieces: list[Piece], rng: np.random.Generator) -> np.ndarray:
        """Masked view built from audio: pieces joined in samples, frames zeroed, fbank computed."""
        em = self.opts.em
        sr = self.cuts[pieces[0].index].sampling_rate
        hop = round(sr * em.hop_ms / 1000)
        parts = []
        for p in pieces:
            audio = load_audio(self.cuts[p.index])[0].astype(np.float32)
            parts.append(window(audio, p.length * hop, rng, None if p.start is None else p.start * hop)[0])
        x = join(parts, self.opts.copypaste.crossfade_frames * hop)
        x = mask_waveform(x, select_frames(frame_rms(x, sr, em.win_ms, em.hop_ms), em), hop)
        feats = np.asarray(self._extractor.extract(x, sr), dtype=np.float32)
        return window(feats, self.num_frames, rng, 0)[0]

    def render(self, pieces: list[Piece], rng: np.random.Generator, masked: bool) -> np.ndarray:
        """Features ``[T, F]`` of a view (masked or not), before mean normalisation."""
        if masked and self._extractor is not None:
            return self._render_waveform(pieces, rng)
        return self._render_fbank(pieces, rng, masked)

    def __getitem__(self, item: tuple[int, int]) -> PairItem:
        index, seed = item
        rng = np.random.default_rng(seed)
        anchor, partner = self.plan(index, rng)
        em = self.opts.em
        mask_partner = em.enable and rng.random() < em.p_em
        mask_anchor = em.enable and em.apply_to == "both" and rng.random() < em.p_em
        views = [mean_normalise(self.render(anchor, rng, mask_anchor)), mean_normalise(self.render(partner, rng, mask_partner))]
        a, p = (torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for v in views)
        return a, p, self.labels[index], len(partner) > 1


def collate_pairs(batch: list[PairItem], copypaste_only: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(feats [2B, T, F], labels [2B], pairs [K, 2])``: anchors at 0..B-1, partners at B..2B-1;
    ``pairs`` lists every (anchor, partner) pair, or only the CopyPaste ones with ``copypaste_only``."""
    anchors, partners, labels, copypaste = zip(*batch)
    b = len(batch)
    feats = torch.stack(list(anchors) + list(partners))
    lab = torch.tensor(list(labels) * 2, dtype=torch.long)
    keep = torch.tensor(copypaste, dtype=torch.bool) if copypaste_only else torch.ones(b, dtype=torch.bool)
    rows = torch.arange(b)[keep]
    pairs = torch.stack([rows, rows + b], dim=1)
    return feats, lab, pairs
