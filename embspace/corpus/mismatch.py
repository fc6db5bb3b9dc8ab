"""Mismatched test conditions for the mini corpus, planned from its design without touching it.

Two additions, both deterministic in the base corpus seed:

* **Degraded copies** of some test utterances (same speech, same session), each under one
  condition the corpus never has: ``reverb`` (synthetic RIR with T60 1.2-2.0 s), ``noise`` (blue
  or violet noise at 0-5 dB SNR on top of the session noise) or ``babble`` (3-5 other test
  speakers' recordings from the base corpus, 0-5 dB SNR).
* **Conversations**: two test speakers recorded in one new session (one channel, one noise
  colour and level), several new utterances each, so that different speakers can be compared
  within a session (VoxConverse-like non-target trials).

Utterance ids: ``<degraded source utt>-x<condition>`` and ``<spk>-c<NN>-u<MM>`` (conversation NN).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embspace.corpus.mini import (EXTRA_NOISE_TYPES, SAMPLE_RATE, MiniConfig, Session, Speaker, Utterance,
                                  active_power, coloured_noise, peak_limit, render_speech, render_utterance,
                                  session_noise)
from embspace.corpus.sentences import SENTENCES
from embspace.utils.errors import DataError

CONDITIONS = ("reverb", "noise", "babble")


@dataclass
class MismatchConfig:
    """Design of the additions (the base corpus design comes from its ``config.json``)."""

    degraded_per_speaker: int = 6  # test utterances per speaker re-rendered degraded (conditions in turn)
    conditions: tuple[str, ...] = CONDITIONS
    reverb_t60: tuple[float, float] = (1.2, 2.0)
    noise_colours: tuple[str, ...] = EXTRA_NOISE_TYPES
    noise_snr: tuple[float, float] = (0.0, 5.0)
    babble_talkers: tuple[int, int] = (3, 5)
    babble_snr: tuple[float, float] = (0.0, 5.0)
    conversations_per_speaker: int = 2
    segments_per_speaker: int = 5  # utterances of each speaker in each conversation
    conversation_snr: tuple[float, float] = (5.0, 20.0)

    def validate(self) -> None:
        """DataError for an unusable design."""
        if self.degraded_per_speaker < 0 or self.conversations_per_speaker < 0 or self.segments_per_speaker < 1:
            raise DataError("need degraded_per_speaker >= 0, conversations_per_speaker >= 0, segments_per_speaker >= 1")
        if not self.conditions or set(self.conditions) - set(CONDITIONS):
            raise DataError(f"conditions: choose from {', '.join(CONDITIONS)}", key="conditions")
        if set(self.noise_colours) - set(EXTRA_NOISE_TYPES) or not self.noise_colours:
            raise DataError(f"noise_colours: choose from {', '.join(EXTRA_NOISE_TYPES)}", key="noise_colours")
        for key in ("reverb_t60", "noise_snr", "babble_talkers", "babble_snr", "conversation_snr"):
            lo, hi = getattr(self, key)
            if lo > hi:
                raise DataError(f"empty range ({lo} > {hi})", key=key)

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class Degraded:
    """A test utterance re-rendered under one unseen condition."""

    utt: str
    source: Utterance
    condition: str
    seed: int
    babble_sources: list[str] = field(default_factory=list)  # base-corpus wav paths (babble only)

    @property
    def rel_path(self) -> str:
        return f"wav/{self.source.speaker}/{self.utt}.wav"


@dataclass
class Conversation:
    """Two speakers in one session; ``segments`` are ordinary utterances of that session."""

    name: str
    speakers: tuple[str, str]
    session: Session
    segments: list[Utterance]


def _pairings(speakers: list[str], rounds: int, rng: random.Random) -> list[tuple[str, str]]:
    """``rounds`` perfect matchings of the speakers (a speaker left over joins a random pair's
    partner), avoiding repeated pairs where a few reshuffles can."""
    pairs: list[tuple[str, str]] = []
    seen: set[frozenset] = set()
    for _ in range(rounds):
        for _attempt in range(20):
            order = speakers[:]
            rng.shuffle(order)
            cand = [(order[i], order[i + 1]) for i in range(0, len(order) - 1, 2)]
            if len(order) % 2:
                cand.append((order[-1], rng.choice(order[:-1])))
            if not any(frozenset(p) in seen for p in cand):
                break
        pairs += cand
        seen.update(frozenset(p) for p in cand)
    return pairs


def plan_mismatch(cfg: MiniConfig, speakers: list[Speaker], utts: list[Utterance], mcfg: MismatchConfig
                  ) -> tuple[list[Degraded], list[Conversation]]:
    """The degraded utterances and conversations (pure; deterministic in ``cfg.seed``)."""
    mcfg.validate()
    test = [s for s in speakers if s.split == "test"]
    if len(test) < 2:
        raise DataError("the corpus has fewer than 2 test speakers")
    by_spk: dict[str, list[Utterance]] = {}
    for u in utts:
        by_spk.setdefault(u.speaker, []).append(u)
    rng = random.Random(f"mini-mismatch-{cfg.seed}")
    degraded = []
    for spk in test:
        chosen = sorted(rng.sample(by_spk[spk.speaker], min(mcfg.degraded_per_speaker, len(by_spk[spk.speaker]))),
                        key=lambda u: u.utt)
        for k, u in enumerate(chosen):
            cond = mcfg.conditions[k % len(mcfg.conditions)]
            babble = []
            if cond == "babble":
                others = [s.speaker for s in test if s.speaker != spk.speaker]
                talkers = rng.sample(others, min(len(others), rng.randint(*mcfg.babble_talkers)))
                babble = [rng.choice(by_spk[t]).rel_path for t in talkers]
            degraded.append(Degraded(f"{u.utt}-x{cond}", u, cond, rng.getrandbits(63), babble))
    conversations = []
    by_name = {s.speaker: s for s in test}
    width = max(2, len(str(len(test) * mcfg.conversations_per_speaker)))
    for c, (a, b) in enumerate(_pairings([s.speaker for s in test], mcfg.conversations_per_speaker, rng)):
        name = f"c{c + 1:0{width}d}"
        wideband = rng.random() < 0.5
        sess = Session(session=1000 + c + 1, low_cut_hz=round(rng.uniform(50.0, 300.0), 1),
                       high_cut_hz=8000.0 if wideband else round(rng.uniform(3400.0, 7000.0), 1),
                       tilt_db_per_octave=round(rng.uniform(-2.0, 2.0), 2), noise=rng.choice(cfg.noise_types))
        snr = rng.uniform(*mcfg.conversation_snr)
        segments = []
        for spk_id in (a, b):
            spk = by_name[spk_id]
            deck = list(SENTENCES["en"])
            rng.shuffle(deck)
            for m in range(mcfg.segments_per_speaker):
                segments.append(Utterance(
                    utt=f"{spk_id}-{name}-u{m:02d}", speaker=spk_id, gender=spk.gender, language="en",
                    text=deck[m % len(deck)], session=sess.session, noise=sess.noise,
                    snr=round(snr + rng.uniform(-1.0, 1.0), 2), voice=f"{spk.accent}+{spk.variant}",
                    pitch=min(99, max(0, spk.pitch + rng.randint(-cfg.pitch_jitter, cfg.pitch_jitter))),
                    rate=min(450, max(80, spk.rate + rng.randint(-cfg.rate_jitter, cfg.rate_jitter))),
                    pad_before_s=round(rng.uniform(*cfg.pad_s), 3), pad_after_s=round(rng.uniform(*cfg.pad_s), 3),
                    synth_seed=rng.getrandbits(31), noise_seed=rng.getrandbits(63)))
        conversations.append(Conversation(name, (a, b), sess, segments))
    return degraded, conversations


def with_session(spk: Speaker, session: Session) -> Speaker:
    """``spk`` recording in ``session`` (for rendering conversation segments)."""
    return dataclasses.replace(spk, sessions=[session])


def _load_babble(corpus_dir: Path, rel_path: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """A base-corpus recording tiled/cut to ``n`` samples at a random offset, unit active power."""
    import soundfile as sf

    x, sr = sf.read(str(corpus_dir / rel_path), dtype="float64")
    if sr != SAMPLE_RATE or x.ndim != 1 or not np.any(x):
        raise DataError(f"expected non-silent mono {SAMPLE_RATE} Hz audio", corpus_dir / rel_path)
    x = np.tile(x, -(-2 * n // len(x)))
    start = int(rng.integers(0, len(x) - n + 1))
    x = x[start:start + n]
    return x / math.sqrt(max(active_power(x), 1e-12))


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Full linear convolution through the FFT (long RIRs)."""
    n = len(x) + len(h) - 1
    m = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, m) * np.fft.rfft(h, m), m)[:n]


def render_degraded(d: Degraded, spk: Speaker, corpus_dir: str, mcfg: MismatchConfig) -> np.ndarray:
    """Speech of ``d.source`` in its own session, plus the unseen condition; float32, peak < 1."""
    from embspace.training.rir import synthetic_rir

    rng = np.random.default_rng(d.seed)
    speech = render_speech(d.source, spk)
    level = active_power(speech)
    if d.condition == "reverb":
        wet = _fft_convolve(speech, synthetic_rir(rng, SAMPLE_RATE, tuple(mcfg.reverb_t60)))[:len(speech)]
        speech = wet * math.sqrt(level / active_power(wet))
    y = speech + session_noise(d.source, spk, speech)
    if d.condition == "noise":
        noise = coloured_noise(len(y), str(rng.choice(list(mcfg.noise_colours))), rng)
        y = y + noise * math.sqrt(level / 10.0 ** (rng.uniform(*mcfg.noise_snr) / 10.0))
    elif d.condition == "babble":
        babble = sum(_load_babble(Path(corpus_dir), p, len(y), rng) for p in d.babble_sources)
        babble = babble / math.sqrt(active_power(babble))
        y = y + babble * math.sqrt(level / 10.0 ** (rng.uniform(*mcfg.babble_snr) / 10.0))
    return peak_limit(y)


def render_segment(utt: Utterance, spk: Speaker, session: Session) -> np.ndarray:
    """One conversation segment: the speaker's voice in the conversation's session."""
    return render_utterance(utt, with_session(spk, session))
