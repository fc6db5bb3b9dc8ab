"""Design and rendering of "mini", an offline synthetic multi-speaker corpus made with espeak-ng.

A speaker is an espeak-ng voice variant (``voices/!v``) with a gender label, an English accent
voice, a base pitch, pitch range, speaking rate and word gap, plus a deterministic "vocal tract"
colouring (spectral tilt and one formant-like peak, applied as a linear-phase FIR) and a level, so
that speakers sharing a variant still differ. Each speaker records in 2-3 sessions; a session is a
channel (band limits and tilt) and a noise colour; each utterance has its own SNR, a random prompt
and a small jitter of pitch and rate.

Everything is planned from one seed by :func:`plan_corpus` (pure, no audio) and rendered per
utterance by :func:`render_utterance`, whose randomness comes only from seeds stored in the plan,
so the output does not depend on the number of worker processes or their order.

Difficulty knobs (fields of :class:`MiniConfig`, defaults in brackets): ``snr_db`` (5-30 dB),
``noise_types`` (white, pink, brown), ``pitch_jitter`` (±3) and ``rate_jitter`` (±10 wpm) within a
speaker, ``sessions`` (2-3 per speaker), ``max_variants`` (all 75: 59 male, 16 female; fewer
variants means more speakers share one; with the defaults each female variant serves ~4 speakers,
each male one ~1), the ranges of the speaker parameters and of the colouring
(``tilt_db_per_octave`` ±3, ``peak_db`` ±6).

Variant -> gender map (``VARIANT_GENDER``): m1-m8 and the named variants with male pitch
(``pitch`` below ~130 Hz in their voice file, or ``gender male``) are "m"; f1-f5 and the named
variants marked ``gender female`` (Alicia, Andrea, Annie, anika, aunty, belinda, grandma, linda,
steph, steph2, steph3) are "f". Excluded (``EXCLUDED_VARIANTS``): robots, long echoes, whispers and
other non-speech-like or ambiguous voices.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from embspace.corpus.sentences import SECOND_LANGUAGE, SENTENCES
from embspace.signal.noise import (EXTRA_NOISE_TYPES, NOISE_TYPES, SAMPLE_RATE, active_power, coloured_noise,  # noqa: F401
                                   fir_from_db, log2_rel, peak_limit)
from embspace.signal.recording import RecordingOptions, Session, draw_session, place, session_fir  # noqa: F401
from embspace.signal import recording
from embspace.utils.errors import DataError


_MALE = ("m1 m2 m3 m4 m5 m6 m7 m8 Alex Andy AnxiousAndy Denis Diogo Gene Gene2 Henrique Hugo Marco Mario "
         "Michael Mike Nguyen Reed Storm adam antonio benjamin boris david ed edward edward2 grandpa gustave "
         "ian iven iven2 iven3 iven4 john kaukovalta klatt klatt2 klatt3 marcelo max michel miguel mike2 "
         "norbert pablo paul pedro quincy rob robert sandro travis victor").split()
_FEMALE = "f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda grandma linda steph steph2 steph3".split()
VARIANT_GENDER: dict[str, str] = {**{v: "m" for v in _MALE}, **{v: "f" for v in _FEMALE}}

EXCLUDED_VARIANTS: dict[str, str] = {
    **{v: "robotic" for v in ("robosoft robosoft2 robosoft3 robosoft4 robosoft5 robosoft6 robosoft7 robosoft8 "
                              "UniRobot anikaRobot announcer").split()},
    **{v: "long echo" for v in ("RicishayMax", "RicishayMax2", "RicishayMax3")},
    **{v: "unvoiced (whisper)" for v in ("whisper", "whisperf", "caleb")},
    "Demonic": "non-human", "Tweaky": "non-human", "croak": "heavy flutter, croaky",
    "Jacky": "degenerate formants", "Lee": "degenerate formants",
    "zac": "child pitch (240-390 Hz), no gender", "shelby": "ambiguous (female formants, male pitch)",
    "Mr serious": "space in the name", "fast": "test voice",
    "klatt4": "near-duplicate of klatt", "klatt5": "near-duplicate of klatt", "klatt6": "near-duplicate of klatt",
}

ENGLISH_ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                   "en-us-nyc")


@dataclass
class MiniConfig:
    """All choices of the corpus; one seed makes the rest."""

    num_speakers: int = 120
    num_test_speakers: int = 40
    utts_per_speaker: int = 20
    seed: int = 1
    second_language_fraction: float = 0.0  # probability that an utterance is in German
    sessions: tuple[int, int] = (2, 3)  # sessions per speaker (min, max)
    snr_db: tuple[float, float] = (5.0, 30.0)  # per-utterance SNR range
    noise_types: tuple[str, ...] = NOISE_TYPES  # one per session
    pitch_jitter: int = 3  # per-utterance espeak pitch offset, ±
    rate_jitter: int = 10  # per-utterance rate offset (wpm), ±
    max_variants: int | None = None  # cap on distinct variants (split m/f); None = all
    accents: tuple[str, ...] = ENGLISH_ACCENTS
    speaker_pitch: tuple[int, int] = (25, 75)  # espeak pitch (0-99, relative to the variant)
    speaker_range: tuple[int, int] = (20, 80)  # espeak pitch range (0-99)
    speaker_rate: tuple[int, int] = (130, 200)  # words per minute
    word_gap: tuple[int, int] = (0, 3)  # units of 10 ms
    tilt_db_per_octave: float = 3.0  # speaker spectral tilt, ±
    peak_db: float = 6.0  # speaker formant-like peak gain, ±
    gain_db: float = 3.0  # speaker level, ±
    pad_s: tuple[float, float] = (0.05, 0.3)  # silence added before and after the speech

    def validate(self) -> None:
        """Raise DataError for an inconsistent configuration."""
        def bad(key: str, msg: str) -> None:
            raise DataError(msg, key=key)

        if self.num_speakers < 2:
            bad("num_speakers", "need at least 2 speakers")
        if not 0 <= self.num_test_speakers < self.num_speakers:
            bad("num_test_speakers", f"must be in [0, num_speakers={self.num_speakers})")
        if self.utts_per_speaker < 1:
            bad("utts_per_speaker", "must be >= 1")
        if not 0.0 <= self.second_language_fraction <= 1.0:
            bad("second_language_fraction", "must be in [0, 1]")
        for key in ("sessions", "snr_db", "speaker_pitch", "speaker_range", "speaker_rate", "word_gap", "pad_s"):
            lo, hi = getattr(self, key)
            if lo > hi:
                bad(key, f"empty range ({lo} > {hi})")
        if self.sessions[0] < 1:
            bad("sessions", "need at least 1 session")
        if not self.noise_types or set(self.noise_types) - set(NOISE_TYPES):
            bad("noise_types", f"choose from {', '.join(NOISE_TYPES)}")
        if self.max_variants is not None and self.max_variants < 2:
            bad("max_variants", "need at least 2 (one per gender)")
        if not self.accents:
            bad("accents", "need at least one accent")
        if self.pitch_jitter < 0 or self.rate_jitter < 0:
            bad("pitch_jitter", "jitter must be >= 0")

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class Speaker:
    """Voice parameters of one synthetic speaker."""

    speaker: str
    split: str
    gender: str
    variant: str
    accent: str
    pitch: int
    pitch_range: int
    rate: int
    word_gap: int
    gain_db: float
    tilt_db_per_octave: float
    peak_hz: float
    peak_db: float
    peak_width_oct: float
    sessions: list[Session] = field(default_factory=list)


@dataclass
class Utterance:
    """One utterance to render; ``synth_seed`` and ``noise_seed`` make it reproducible."""

    utt: str
    speaker: str
    gender: str
    language: str
    text: str
    session: int
    noise: str
    snr: float
    voice: str
    pitch: int
    rate: int
    pad_before_s: float
    pad_after_s: float
    synth_seed: int
    noise_seed: int
    style: str = "neutral"

    @property
    def rel_path(self) -> str:
        """Where the wav goes, relative to the corpus folder."""
        return f"wav/{self.speaker}/{self.utt}.wav"


def _variant_pools(rng: random.Random, max_variants: int | None) -> dict[str, list[str]]:
    """Shuffled variant lists per gender, capped at ``max_variants`` in total (male share rounded up)."""
    pools = {g: sorted(v for v, gv in VARIANT_GENDER.items() if gv == g) for g in ("m", "f")}
    for g in ("m", "f"):
        rng.shuffle(pools[g])
    if max_variants is not None:
        n_m = min(len(pools["m"]), (max_variants + 1) // 2)
        n_f = min(len(pools["f"]), max(1, max_variants - n_m))
        pools = {"m": pools["m"][:n_m], "f": pools["f"][:n_f]}
    return pools


def plan_speakers(cfg: MiniConfig) -> list[Speaker]:
    """Draw every speaker's parameters. Genders alternate, so train and test are both balanced;
    the last ``num_test_speakers`` speakers are the test set. Variants are dealt round-robin per
    gender from a shuffled pool, so sharing is as even as the pool allows."""
    cfg.validate()
    rng = random.Random(f"mini-speakers-{cfg.seed}")
    pools = _variant_pools(rng, cfg.max_variants)
    dealt = {"m": 0, "f": 0}
    width = max(3, len(str(cfg.num_speakers)))
    speakers = []
    for i in range(cfg.num_speakers):
        gender = "m" if i % 2 == 0 else "f"
        pool = pools[gender]
        variant = pool[dealt[gender] % len(pool)]
        dealt[gender] += 1
        spk = Speaker(
            speaker=f"spk{i + 1:0{width}d}",
            split="test" if i >= cfg.num_speakers - cfg.num_test_speakers else "train",
            gender=gender,
            variant=variant,
            accent=rng.choice(cfg.accents),
            pitch=rng.randint(*cfg.speaker_pitch),
            pitch_range=rng.randint(*cfg.speaker_range),
            rate=rng.randint(*cfg.speaker_rate),
            word_gap=rng.randint(*cfg.word_gap),
            gain_db=round(rng.uniform(-cfg.gain_db, cfg.gain_db), 2),
            tilt_db_per_octave=round(rng.uniform(-cfg.tilt_db_per_octave, cfg.tilt_db_per_octave), 2),
            peak_hz=round(math.exp(rng.uniform(math.log(400.0), math.log(4000.0))), 1),
            peak_db=round(rng.uniform(-cfg.peak_db, cfg.peak_db), 2),
            peak_width_oct=round(rng.uniform(0.2, 0.6), 3),
        )
        for s in range(rng.randint(*cfg.sessions)):
            spk.sessions.append(draw_session(rng, s + 1, cfg.noise_types))
        speakers.append(spk)
    return speakers


def plan_utterances(cfg: MiniConfig, speakers: Sequence[Speaker]) -> list[Utterance]:
    """Draw each speaker's utterances (own random stream per speaker); sessions are dealt in turn."""
    utts = []
    width = max(3, len(str(cfg.utts_per_speaker - 1)))
    for spk in speakers:
        rng = random.Random(f"mini-utts-{cfg.seed}-{spk.speaker}")
        decks: dict[str, list[str]] = {}
        for u in range(cfg.utts_per_speaker):
            lang = SECOND_LANGUAGE if rng.random() < cfg.second_language_fraction else "en"
            if not decks.get(lang):  # prompts without repetition until the list is used up
                decks[lang] = list(SENTENCES[lang])
                rng.shuffle(decks[lang])
            text = decks[lang].pop()
            sess = spk.sessions[u % len(spk.sessions)]
            voice = f"{spk.accent if lang == 'en' else lang}+{spk.variant}"
            utts.append(Utterance(
                utt=f"{spk.speaker}-s{sess.session}-u{u:0{width}d}",
                speaker=spk.speaker,
                gender=spk.gender,
                language=lang,
                text=text,
                session=sess.session,
                noise=sess.noise,
                snr=round(rng.uniform(*cfg.snr_db), 2),
                voice=voice,
                pitch=min(99, max(0, spk.pitch + rng.randint(-cfg.pitch_jitter, cfg.pitch_jitter))),
                rate=min(450, max(80, spk.rate + rng.randint(-cfg.rate_jitter, cfg.rate_jitter))),
                pad_before_s=round(rng.uniform(*cfg.pad_s), 3),
                pad_after_s=round(rng.uniform(*cfg.pad_s), 3),
                synth_seed=rng.getrandbits(31),
                noise_seed=rng.getrandbits(63),
            ))
    return utts


def plan_corpus(cfg: MiniConfig) -> tuple[list[Speaker], list[Utterance]]:
    """Speakers and utterances of the corpus (deterministic in ``cfg``)."""
    speakers = plan_speakers(cfg)
    return speakers, plan_utterances(cfg, speakers)


# ---------------------------------------------------------------------------------------- rendering

def speaker_fir(spk: Speaker) -> np.ndarray:
    """The speaker colouring: tilt around 1 kHz plus a Gaussian (in octaves) peak or notch."""
    def db(f: np.ndarray) -> np.ndarray:
        return (spk.tilt_db_per_octave * log2_rel(f, 1000.0)
                + spk.peak_db * np.exp(-0.5 * (log2_rel(f, spk.peak_hz) / spk.peak_width_oct) ** 2))
    return fir_from_db(db)


def render_voice(utt: Utterance, spk: Speaker, synth=None, *, data_path: str | None = None,
                 ssml: bool = False) -> np.ndarray:
    """The clean voice of one utterance: espeak-ng (``synth``, default the process-wide engine of
    ``data_path``) and the speaker colouring, float64 at 16 kHz, no channel, padding or noise.

    ``data_path`` (an espeak-ng data folder with extra voice variants) and ``ssml`` (``utt.text`` is
    SSML markup) serve derived corpora such as the emotional styles of ``embspace.corpus.styles``.
    """
    if synth is None:
        from embspace.corpus.espeak import get_synth

        synth = get_synth(data_path)
    speech = synth.synth(utt.text, utt.voice, rate=utt.rate, pitch=utt.pitch, pitch_range=spk.pitch_range,
                         word_gap=spk.word_gap, seed=utt.synth_seed, ssml=ssml).astype(np.float64)
    if len(speech) == 0 or not np.any(speech):
        raise DataError("espeak-ng produced silence", key=utt.utt)
    return np.convolve(speech, speaker_fir(spk), mode="same")


def session_of(utt: Utterance, spk: Speaker) -> Session:
    """The recording session of ``utt``."""
    return next(s for s in spk.sessions if s.session == utt.session)


def place_in_session(speech: np.ndarray, utt: Utterance, sess: Session, gain_db: float = 0.0,
                     level_dbfs: float = -26.0) -> np.ndarray:
    """``speech`` through the session's channel, with the utterance's padding, at ``level_dbfs`` +
    ``gain_db`` (active level); float64, no noise yet."""
    return place(speech, sess, utt.pad_before_s, utt.pad_after_s, gain_db, level_dbfs, key=utt.utt)


def noise_for(speech: np.ndarray, utt: Utterance, sess: Session) -> np.ndarray:
    """The session's noise (colour, channel) for ``speech`` at the utterance's SNR and noise seed."""
    return recording.session_noise(speech, sess, utt.noise, utt.snr, utt.noise_seed)


def degrade(speech: np.ndarray, utt: Utterance, sess: Session, gain_db: float = 0.0,
            level_dbfs: float = -26.0) -> np.ndarray:
    """Record ``speech`` in session ``sess``: channel filter, the utterance's padding, level and noise
    (colour of the session, SNR and seed of ``utt``). float32, peak below 1."""
    speech = place_in_session(speech, utt, sess, gain_db, level_dbfs)
    return peak_limit(speech + noise_for(speech, utt, sess))


def render_speech(utt: Utterance, spk: Speaker, level_dbfs: float = -26.0, *, data_path: str | None = None,
                  ssml: bool = False) -> np.ndarray:
    """The utterance's speech before noise: synthesised, speaker- and channel-coloured, padded,
    at ``level_dbfs`` + the speaker's gain (active level); float64 (options: :func:`render_voice`)."""
    voice = render_voice(utt, spk, data_path=data_path, ssml=ssml)
    return place_in_session(voice, utt, session_of(utt, spk), spk.gain_db, level_dbfs)


def session_noise(utt: Utterance, spk: Speaker, speech: np.ndarray) -> np.ndarray:
    """The noise of ``utt``'s own session for ``speech`` (see :func:`noise_for`)."""
    return noise_for(speech, utt, session_of(utt, spk))


def render_utterance(utt: Utterance, spk: Speaker, level_dbfs: float = -26.0, synth=None, *,
                     data_path: str | None = None, ssml: bool = False) -> np.ndarray:
    """Synthesise and degrade one utterance: float32 at 16 kHz, peak below 1 (options: :func:`render_voice`)."""
    voice = render_voice(utt, spk, synth, data_path=data_path, ssml=ssml)
    return degrade(voice, utt, session_of(utt, spk), spk.gain_db, level_dbfs)


def record_speaker(speeches: Sequence[np.ndarray], rng: random.Random, cfg: MiniConfig | None = None) -> list[np.ndarray]:
    """:func:`embspace.signal.recording.record_speaker` with the ranges of ``cfg`` (default: the corpus defaults)."""
    opts = RecordingOptions(cfg.sessions, cfg.snr_db, cfg.noise_types, cfg.pad_s) if cfg else None
    return recording.record_speaker(speeches, rng, opts)
