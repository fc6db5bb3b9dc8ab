"""Emotional speaking styles for the synthetic "mini" corpus (a derived corpus; the base is untouched).

Every speaker of a base corpus (planned again from its ``config.json`` by
:func:`embspace.corpus.mini.plan_corpus`) speaks ``utts_per_emotion`` extra prompts in each of
four emotions. The neutral style is the base corpus itself. An emotion is a change of:

* prosody: espeak pitch level (``pitch``, 0-99 scale), pitch range (factor), speaking rate (factor),
  pauses (extra word gap, and ``<break>`` between phrases in SSML), loudness (level in dB);
* phrase shape, through SSML markup (option ``ssml``): strong emphasis on content words (angry),
  lively pitch accents (happy), a falling, broken-up phrase (sad), a rising end with question
  intonation (surprised);
* voice quality, through an espeak-ng voice variant derived from the speaker's own variant file
  (``breath`` noise for breathiness, ``roughness`` for creak, ``flutter`` for pitch wavering,
  ``stressAmp`` for emphasis) and a change of the speaker's spectral tilt (tense and bright
  versus lax and dark).

:data:`PROFILES` gives the full-strength change of each emotion. Speakers differ in how they act:
each speaker has an expressiveness factor (``expressiveness``, uniform), each speaker-emotion pair
a strength around it and its own jitter of every cue (``cue_jitter``), so two speakers' "angry"
are not the same shift. Everything is drawn from the base corpus seed (own random streams), and each
utterance is rendered by :func:`embspace.corpus.mini.render_utterance` with seeds kept in its plan,
so the result does not depend on worker count or order.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape

import numpy as np

from embspace.corpus.mini import Speaker, Utterance, render_utterance
from embspace.corpus.sentences import SENTENCES
from embspace.utils.errors import DataError

NEUTRAL = "neutral"
CONTOURS = ("none", "emphasis", "lively", "fall", "rise_end")


@dataclass(frozen=True)
class StyleProfile:
    """Full-strength change of one emotion relative to the speaker's neutral voice."""

    pitch: float  # espeak pitch offset (0-99 scale)
    pitch_range: float  # factor on the speaker's pitch range
    rate: float  # factor on the speaking rate
    word_gap: float  # extra pause between words (10 ms units)
    gain_db: float  # level change
    tilt_db_per_octave: float  # added to the speaker's spectral tilt (> 0 tense/bright, < 0 lax/dark)
    breath: float  # espeak 'breath' noise on formants 1-6 (breathiness)
    roughness: float  # espeak 'roughness' 0-7 (creak)
    flutter: float  # espeak 'flutter' (pitch wavering); 0 keeps the variant's own
    stress_amp: float  # added to the amplitude of stressed syllables (espeak 'stressAmp' 4-7)
    contour: str  # SSML phrase shape, one of CONTOURS
    pause_ms: float  # SSML <break> between the two halves of a sentence (0: none)


PROFILES: dict[str, StyleProfile] = {
    "angry": StyleProfile(pitch=6, pitch_range=1.4, rate=1.12, word_gap=0, gain_db=6.0, tilt_db_per_octave=2.5,
                          breath=0, roughness=4, flutter=0, stress_amp=8, contour="emphasis", pause_ms=0),
    "happy": StyleProfile(pitch=14, pitch_range=1.6, rate=1.08, word_gap=0, gain_db=2.5, tilt_db_per_octave=1.0,
                          breath=4, roughness=0, flutter=0, stress_amp=4, contour="lively", pause_ms=0),
    "sad": StyleProfile(pitch=-12, pitch_range=0.45, rate=0.78, word_gap=3, gain_db=-6.0, tilt_db_per_octave=-3.0,
                        breath=30, roughness=1, flutter=30, stress_amp=-4, contour="fall", pause_ms=250),
    "surprised": StyleProfile(pitch=18, pitch_range=1.9, rate=0.95, word_gap=1, gain_db=3.0, tilt_db_per_octave=1.0,
                              breath=8, roughness=0, flutter=0, stress_amp=4, contour="rise_end", pause_ms=0),
}


@dataclass
class StyleConfig:
    """Choices of the emotional corpus (the base corpus design comes from its own config.json)."""

    emotions: tuple[str, ...] = ("angry", "happy", "sad", "surprised")
    utts_per_emotion: int = 3  # per speaker and emotion
    expressiveness: tuple[float, float] = (0.6, 1.3)  # per-speaker acting strength
    strength_jitter: float = 0.2  # per speaker-emotion strength = expressiveness * U(1 ± this)
    cue_jitter: float = 0.3  # every cue of a speaker-emotion pair scaled by U(1 ± this)
    ssml: bool = True  # phrase shapes and pauses through SSML markup
    voice_quality: bool = True  # breath/roughness/flutter/stress through derived espeak variants + tilt
    seed_offset: int = 0  # 0: streams drawn from the base seed alone; other values give another take

    def validate(self) -> None:
        """Raise DataError for an inconsistent configuration."""
        unknown = [e for e in self.emotions if e not in PROFILES]
        if unknown or not self.emotions or len(set(self.emotions)) != len(self.emotions):
            raise DataError(f"emotions must be distinct names from {', '.join(PROFILES)}", key="emotions")
        if self.utts_per_emotion < 1:
            raise DataError("must be >= 1", key="utts_per_emotion")
        lo, hi = self.expressiveness
        if not 0 < lo <= hi:
            raise DataError("need 0 < lo <= hi", key="expressiveness")
        for key in ("strength_jitter", "cue_jitter"):
            if not 0 <= getattr(self, key) < 1:
                raise DataError("must be in [0, 1)", key=key)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class SpeakerStyle:
    """One speaker's rendering of one emotion: the profile scaled by the speaker's strength and jitter."""

    speaker: str
    emotion: str
    strength: float
    pitch: float
    pitch_range: float
    rate: float
    word_gap: float
    gain_db: float
    tilt_db_per_octave: float
    breath: float
    roughness: float
    flutter: float
    stress_amp: float
    contour: str
    pause_ms: float

    @property
    def variant(self) -> str:
        """Name of the derived espeak voice variant (``voices/!v/<name>``)."""
        return f"emo-{self.emotion}-{self.speaker}"


@dataclass
class StyledUtterance:
    """An emotional utterance: the base :class:`Utterance` fields plus what the renderer needs."""

    utt: Utterance
    style: SpeakerStyle
    ssml_text: str = ""  # what espeak reads when SSML is on ('' = the plain prompt)


def _scaled(profile: StyleProfile, strength: float, rng: random.Random, jitter: float) -> dict[str, float]:
    """Each numeric cue of ``profile`` moved ``strength`` of the way (factors around 1), with jitter."""
    def j() -> float:
        return strength * rng.uniform(1 - jitter, 1 + jitter)

    return {
        "pitch": profile.pitch * j(),
        "pitch_range": math.exp(math.log(profile.pitch_range) * j()),
        "rate": math.exp(math.log(profile.rate) * j()),
        "word_gap": profile.word_gap * j(),
        "gain_db": profile.gain_db * j(),
        "tilt_db_per_octave": profile.tilt_db_per_octave * j(),
        "breath": profile.breath * j(),
        "roughness": profile.roughness * j(),
        "flutter": profile.flutter * j(),
        "stress_amp": profile.stress_amp * j(),
        "pause_ms": profile.pause_ms * j(),
    }


def plan_speaker_styles(speakers: Sequence[Speaker], base_seed: int, cfg: StyleConfig) -> dict[tuple[str, str], SpeakerStyle]:
    """``(speaker, emotion) -> SpeakerStyle`` for every speaker and emotion (own stream per speaker)."""
    cfg.validate()
    styles = {}
    for spk in speakers:
        rng = random.Random(f"mini-styles-{base_seed}-{cfg.seed_offset}-{spk.speaker}")
        expressive = rng.uniform(*cfg.expressiveness)
        for emo in cfg.emotions:
            strength = expressive * rng.uniform(1 - cfg.strength_jitter, 1 + cfg.strength_jitter)
            cues = _scaled(PROFILES[emo], strength, rng, cfg.cue_jitter)
            styles[spk.speaker, emo] = SpeakerStyle(speaker=spk.speaker, emotion=emo, strength=round(strength, 3),
                                                    contour=PROFILES[emo].contour,
                                                    **{k: round(v, 3) for k, v in cues.items()})
    return styles


def _content_words(words: list[str]) -> list[int]:
    """Indices of words long enough to carry an accent."""
    return [i for i, w in enumerate(words) if len(w.strip(".,;:!?")) > 3]


def ssml_markup(text: str, style: SpeakerStyle, rng: random.Random) -> str:
    """``text`` as SSML with the phrase shape and pauses of ``style`` (deterministic in ``rng``)."""
    words = text.split()
    marked = [escape(w) for w in words]
    content = _content_words(words) or list(range(len(words)))
    k = style.strength
    if style.contour == "emphasis":
        for i in rng.sample(content, min(2, len(content))):
            marked[i] = f'<emphasis level="strong">{marked[i]}</emphasis>'
    elif style.contour == "lively":
        for i in content[rng.randrange(2)::2]:
            marked[i] = f'<prosody pitch="+{round(25 * k)}%">{marked[i]}</prosody>'
    elif style.contour == "rise_end":
        tail = max(1, len(marked) // 3)
        marked[-1] = marked[-1].rstrip(".!") + "?"
        marked[-tail:] = [f'<prosody pitch="+{round(30 * k)}%" range="+{round(60 * k)}%">' + " ".join(marked[-tail:])
                          + "</prosody>"]
    elif style.contour == "fall":
        tail = max(1, len(marked) // 2)
        marked[-tail:] = [f'<prosody pitch="-{min(60, round(15 * k))}%">' + " ".join(marked[-tail:]) + "</prosody>"]
    if style.pause_ms >= 10 and len(marked) > 1:
        cut = max(1, len(marked) // 2)
        marked.insert(cut, f'<break time="{round(style.pause_ms)}ms"/>')
    return "<speak>" + " ".join(marked) + "</speak>"


def variant_lines(style: SpeakerStyle) -> list[str]:
    """espeak-ng variant attributes appended to the speaker's own variant file (later lines win)."""
    lines = []
    if style.breath >= 1:
        b = round(style.breath)
        lines += [f"breath {b} {b} {round(0.8 * b)} {round(0.6 * b)} {round(0.4 * b)} {round(0.3 * b)}",
                  "breathw 150 150 200 200 400 400"]
    if style.roughness >= 0.5:
        lines.append(f"roughness {min(7, round(style.roughness))}")
    if style.flutter >= 1:
        lines.append(f"flutter {round(style.flutter)}")
    if abs(style.stress_amp) >= 1:
        s = round(style.stress_amp)
        lines.append("stressAmp " + " ".join(str(max(4, v + (s if i >= 4 else 0)))
                                              for i, v in enumerate((16, 16, 20, 20, 20, 24, 24, 22))))
    return lines


#: espeak-ng lists at most 349 voices (languages + variants); a data folder holds this many derived variants
MAX_VARIANTS_PER_FOLDER = 300


def build_espeak_data(out_dir: str | os.PathLike, styles: Sequence[SpeakerStyle], speakers: dict[str, Speaker],
                      base_data_path: str | None = None) -> Path:
    """An espeak-ng data folder with the derived variants of ``styles`` (each the speaker's own variant
    file plus :func:`variant_lines`) and links to the packaged data. Only the West Germanic language
    voices (``lang/gmw``: English) are linked, since espeak-ng lists at most 349 voices."""
    if len(styles) > MAX_VARIANTS_PER_FOLDER:
        raise ValueError(f"at most {MAX_VARIANTS_PER_FOLDER} variants per folder, got {len(styles)}")
    if base_data_path is None:
        import espeakng_loader

        base_data_path = espeakng_loader.get_data_path()
    src, dst = Path(base_data_path), Path(out_dir)
    dst.mkdir(parents=True, exist_ok=True)
    for p in src.iterdir():
        if p.name not in ("voices", "lang"):
            os.symlink(p, dst / p.name)
    (dst / "lang").mkdir()
    os.symlink(src / "lang" / "gmw", dst / "lang" / "gmw")
    vdir = dst / "voices" / "!v"
    vdir.mkdir(parents=True)
    for st in styles:
        base = src / "voices" / "!v" / speakers[st.speaker].variant
        if not base.is_file():
            raise DataError("espeak-ng voice variant not found", base, key=st.speaker)
        text = base.read_text(encoding="utf-8", errors="replace").rstrip("\n")
        text = "\n".join(line for line in text.split("\n") if not line.startswith("name "))
        (vdir / st.variant).write_text(f"{text}\nname {st.variant}\n" + "\n".join(variant_lines(st)) + "\n",
                                       encoding="utf-8")
    return dst


def plan_styled_utterances(speakers: Sequence[Speaker], base_seed: int, cfg: StyleConfig,
                           styles: dict[tuple[str, str], SpeakerStyle],
                           pitch_jitter: int = 3, rate_jitter: int = 10, snr_db: tuple[float, float] = (5.0, 30.0),
                           pad_s: tuple[float, float] = (0.05, 0.3)) -> list[StyledUtterance]:
    """Every emotional utterance: prompts, sessions (dealt in turn, as in the base corpus), noise,
    per-utterance jitter and seeds, each speaker from its own random stream."""
    out = []
    width = max(3, len(str(cfg.utts_per_emotion - 1)))
    for spk in speakers:
        rng = random.Random(f"mini-style-utts-{base_seed}-{cfg.seed_offset}-{spk.speaker}")
        deck = list(SENTENCES["en"])
        rng.shuffle(deck)
        n = 0
        for emo in cfg.emotions:
            st = styles[spk.speaker, emo]
            for u in range(cfg.utts_per_emotion):
                if not deck:
                    deck = list(SENTENCES["en"])
                    rng.shuffle(deck)
                text = deck.pop()
                sess = spk.sessions[n % len(spk.sessions)]
                n += 1
                variant = st.variant if cfg.voice_quality else spk.variant
                utt = Utterance(
                    utt=f"{spk.speaker}-s{sess.session}-{emo}-u{u:0{width}d}", speaker=spk.speaker, gender=spk.gender,
                    language="en", text=text, session=sess.session, noise=sess.noise,
                    snr=round(rng.uniform(*snr_db), 2), voice=f"{spk.accent}+{variant}",
                    pitch=min(99, max(0, round(spk.pitch + st.pitch) + rng.randint(-pitch_jitter, pitch_jitter))),
                    rate=min(450, max(80, round(spk.rate * st.rate) + rng.randint(-rate_jitter, rate_jitter))),
                    pad_before_s=round(rng.uniform(*pad_s), 3), pad_after_s=round(rng.uniform(*pad_s), 3),
                    synth_seed=rng.getrandbits(31), noise_seed=rng.getrandbits(63), style=emo,
                )
                markup_rng = random.Random(utt.synth_seed)
                ssml = ssml_markup(text, st, markup_rng) if cfg.ssml else ""
                out.append(StyledUtterance(utt=utt, style=st, ssml_text=ssml))
    return out


def styled_speaker(spk: Speaker, st: SpeakerStyle, voice_quality: bool = True) -> Speaker:
    """The speaker as the renderer sees it in this style: range, pauses, level and (voice quality) tilt."""
    return dataclasses.replace(
        spk,
        pitch_range=min(99, max(0, round(spk.pitch_range * st.pitch_range))),
        word_gap=max(0, round(spk.word_gap + st.word_gap)),
        gain_db=spk.gain_db + st.gain_db,
        tilt_db_per_octave=spk.tilt_db_per_octave + (st.tilt_db_per_octave if voice_quality else 0.0),
    )


def render_styled(item: StyledUtterance, spk: Speaker, data_path: str | None, voice_quality: bool = True) -> np.ndarray:
    """Audio of one emotional utterance (float32, 16 kHz)."""
    utt = item.utt
    if item.ssml_text:
        utt = dataclasses.replace(utt, text=item.ssml_text)
    return render_utterance(utt, styled_speaker(spk, item.style, voice_quality), data_path=data_path,
                            ssml=bool(item.ssml_text))


class EspeakDataDirs:
    """Temporary espeak-ng data folders holding the derived variants, as many as the voice-list limit
    needs (context manager: ``{speaker: folder}``; removed on exit)."""

    def __init__(self, styles: Sequence[SpeakerStyle], speakers: dict[str, Speaker]) -> None:
        self.styles, self.speakers = styles, speakers

    def __enter__(self) -> dict[str, str]:
        self._tmp = tempfile.mkdtemp(prefix="espeak-styles-")
        by_spk: dict[str, list[SpeakerStyle]] = {}
        for st in self.styles:
            by_spk.setdefault(st.speaker, []).append(st)
        groups: list[list[str]] = [[]]
        for spk, sts in by_spk.items():
            if sum(len(by_spk[s]) for s in groups[-1]) + len(sts) > MAX_VARIANTS_PER_FOLDER:
                groups.append([])
            groups[-1].append(spk)
        folders = {}
        for k, group in enumerate(groups):
            path = build_espeak_data(Path(self._tmp) / f"g{k}" / "espeak-ng-data",
                                     [st for s in group for st in by_spk[s]], self.speakers)
            folders.update({s: str(path) for s in group})
        return folders

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)
