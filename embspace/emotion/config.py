"""Options of emotion-invariant training: the ``emotion:`` section of a training YAML.

    emotion:
      emotion_field: emotion      # supervision.custom key with the emotion label (mini corpus: style)
      neutral_label: neutral
      emotions: [angry, happy, sad, surprised]   # the non-neutral labels used; others are errors (or skipped)
      unknown_emotion: error      # error | skip
      min_frames: 50              # shorter utterances are skipped (counted in the log); shorter than the crop: tiled
      copypaste: {enable: true, pair_mode: orig_vs_cp, scheme: neutral, order: random,
                  segment_frames: [80, 120], crossfade_frames: 2, p_cp: 1.0}
      erl: {enable: true, weight: 1.0, form: one_minus_cos, stop_grad_anchor: false, pairs: all}
      em: {enable: true, domain: fbank, energy: waveform, select: top_ratio, ratio: 0.2, k_std: 1.0, span: 1,
           fill: mean, mask_target: high, apply_to: partner, p_em: 0.5}

Every component is off unless ``enable: true``; defaults are those of the spec where the paper is
silent (see docs in ``embspace/emotion/__init__.py``). Unknown keys and bad values raise ValueError.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"emotion option {name}: '{value}' is not one of {', '.join(allowed)}")


@dataclass
class CopyPasteOptions:
    """CopyPaste parallel samples: a partner that joins an emotional and a neutral piece of the same speaker."""

    enable: bool = False
    pair_mode: str = "orig_vs_cp"  # orig_vs_cp: anchor = plain crop; emo_swap: both joined, shared neutral piece
    scheme: str = "neutral"  # neutral: emotional + neutral piece; same_emotion: two pieces of one emotion; both: either
    order: str = "random"  # random | neutral_first | emotional_first
    segment_frames: tuple[int, int] = (80, 120)  # length range of the first piece; the second fills the crop
    crossfade_frames: int = 2  # linear cross-fade at the join (frames of 10 ms; samples in the waveform domain)
    p_cp: float = 1.0  # probability that a partner is a CopyPaste sample (else a plain cross-emotion crop)

    def validate(self, num_frames: int) -> None:
        _choice("copypaste.pair_mode", self.pair_mode, ("orig_vs_cp", "emo_swap"))
        _choice("copypaste.scheme", self.scheme, ("neutral", "same_emotion", "both"))
        _choice("copypaste.order", self.order, ("random", "neutral_first", "emotional_first"))
        lo, hi = self.segment_frames
        if not 1 <= lo <= hi < num_frames:
            raise ValueError(f"emotion option copypaste.segment_frames: need 1 <= lo <= hi < num_frames={num_frames}, "
                             f"got [{lo}, {hi}]")
        if not 0 <= self.crossfade_frames <= lo // 2 or not 0.0 <= self.p_cp <= 1.0:
            raise ValueError("emotion option copypaste: crossfade_frames must be in [0, lo/2], p_cp in [0, 1]")


@dataclass
class ERLOptions:
    """ERL: AAM-softmax plus ``weight`` x a cosine term between the embeddings of each parallel pair."""

    enable: bool = False
    weight: float = 1.0  # lambda
    form: str = "one_minus_cos"  # one_minus_cos: 1 - cos; mse_to_1: (1 - cos)^2
    stop_grad_anchor: bool = False  # asymmetric: only the partner moves
    pairs: str = "all"  # all: every (anchor, partner) pair; copypaste: only pairs whose partner is a CopyPaste sample

    def validate(self) -> None:
        _choice("erl.form", self.form, ("one_minus_cos", "mse_to_1"))
        _choice("erl.pairs", self.pairs, ("all", "copypaste"))
        if self.weight < 0:
            raise ValueError("emotion option erl.weight must be >= 0")


@dataclass
class EMOptions:
    """Emotion-aware masking: hide the frames with the highest (or lowest) RMS energy."""

    enable: bool = False
    domain: str = "fbank"  # fbank: masked feature frames; waveform: zeroed samples, fbank computed after
    energy: str = "waveform"  # frame RMS from the waveform (25/10 ms), or 'fbank': log of summed mel power (proxy)
    win_ms: float = 25.0
    hop_ms: float = 10.0
    select: str = "top_ratio"  # top_ratio: the top `ratio` of frames; threshold: RMS > mean + k_std * std
    ratio: float = 0.2
    k_std: float = 1.0
    span: int = 1  # each selected frame masks `span` frames centred on it
    fill: str = "mean"  # fbank domain: mean (crop mean), zero (raw zeros), floor (per-bin minimum)
    mask_target: str = "high"  # high-energy frames (default) or low-energy ones
    apply_to: str = "partner"  # partner | both
    p_em: float = 0.5  # probability per sample

    def validate(self) -> None:
        _choice("em.domain", self.domain, ("fbank", "waveform"))
        _choice("em.energy", self.energy, ("waveform", "fbank"))
        _choice("em.select", self.select, ("top_ratio", "threshold"))
        _choice("em.fill", self.fill, ("mean", "zero", "floor"))
        _choice("em.mask_target", self.mask_target, ("high", "low"))
        _choice("em.apply_to", self.apply_to, ("partner", "both"))
        if not 0.0 < self.ratio < 1.0 or not 0.0 <= self.p_em <= 1.0 or self.span < 1:
            raise ValueError("emotion option em: need 0 < ratio < 1, 0 <= p_em <= 1, span >= 1")
        if self.win_ms <= 0 or self.hop_ms <= 0:
            raise ValueError("emotion option em: win_ms and hop_ms must be > 0")


@dataclass
class EmotionOptions:
    """The whole ``emotion:`` section."""

    emotion_field: str = "emotion"
    neutral_label: str = "neutral"
    emotions: tuple[str, ...] | None = None  # None: every label found besides the neutral one
    unknown_emotion: str = "error"  # a label outside `emotions`: error | skip
    min_frames: int = 50
    copypaste: CopyPasteOptions = field(default_factory=CopyPasteOptions)
    erl: ERLOptions = field(default_factory=ERLOptions)
    em: EMOptions = field(default_factory=EMOptions)

    def validate(self, num_frames: int) -> None:
        _choice("unknown_emotion", self.unknown_emotion, ("error", "skip"))
        if self.emotions is not None and (not self.emotions or self.neutral_label in self.emotions):
            raise ValueError("emotion option emotions: a non-empty list of non-neutral labels")
        if self.min_frames < 1:
            raise ValueError("emotion option min_frames must be >= 1")
        if self.copypaste.enable:
            self.copypaste.validate(num_frames)
        self.erl.validate()
        if self.erl.enable and self.erl.pairs == "copypaste" and not self.copypaste.enable:
            raise ValueError("emotion option erl.pairs: 'copypaste' needs copypaste.enable: true")
        self.em.validate()

    @property
    def components(self) -> str:
        """``cp+erl+em``-style summary of what is on (``none`` when nothing is)."""
        on = [n for n, c in (("cp", self.copypaste), ("erl", self.erl), ("em", self.em)) if c.enable]
        return "+".join(on) or "none"


def _build(cls, cfg: Mapping[str, Any] | None, where: str):
    cfg = dict(cfg or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(cfg) - names)
    if unknown:
        raise ValueError(f"unknown option(s) in {where}: {', '.join(unknown)} (allowed: {', '.join(sorted(names))})")
    for f in dataclasses.fields(cls):
        if f.name in cfg and isinstance(cfg[f.name], list):
            cfg[f.name] = tuple(cfg[f.name])
    return cls(**cfg)


def emotion_options(cfg: Mapping[str, Any] | None, num_frames: int) -> EmotionOptions:
    """Parse and validate an ``emotion:`` section (``None`` or ``{}`` = all defaults, every component off)."""
    cfg = dict(cfg or {})
    subs = {"copypaste": CopyPasteOptions, "erl": ERLOptions, "em": EMOptions}
    parts = {k: _build(c, cfg.pop(k, None), f"emotion.{k}") for k, c in subs.items()}
    opts = _build(EmotionOptions, cfg, "emotion")
    for k, v in parts.items():
        setattr(opts, k, v)
    opts.validate(num_frames)
    return opts
