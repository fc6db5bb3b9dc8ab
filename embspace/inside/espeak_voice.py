"""A continuous voice space for espeak-ng: variant-file parameters plus the mini corpus's speaker traits.

espeak-ng's voice variants (``espeak-ng-data/voices/!v``) are small text files of formant,
pitch and voice-quality settings (see espeak-ng's ``docs/voices.md``). The named variants are
categories, but the settings themselves are numbers, so any point between them can be written
as a new variant file and loaded by name. :class:`VoiceSpec` is such a point together with the
speaker traits that the corpus renderer (:mod:`embspace.corpus.mini`) adds on top of a variant:
accent voice, pitch/range/rate/word gap of the espeak API, and the spectral colouring (tilt, one
formant-like peak).

* :func:`parse_variant` reads a shipped variant file; :func:`VoiceSpec.variant_text` writes one.
* :func:`VoiceSpec.to_vector` / :func:`VoiceSpec.from_vector` map a voice to ``CONTINUOUS``
  numbers (log frequencies, percentages...) plus two categorical indices (accent, klatt source).
* :class:`VoiceCode` is a voice as a convex blend of shipped variants ("anchors") plus accent and
  speaker traits; :func:`sample_code` draws one for a gender (one variant or a blend of two), with
  the corpus's ranges for the traits; :meth:`VoiceCode.realise` turns it into a :class:`VoiceSpec`.
* :func:`private_data_dir` builds an ``espeak-ng-data`` folder of symbolic links to the installed
  one, with a writable ``voices/!v`` where :func:`installed_variant` puts a generated variant while
  :func:`speak` uses it.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from embspace.corpus.mini import ENGLISH_ACCENTS, EXCLUDED_VARIANTS, VARIANT_GENDER, MiniConfig
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

NUM_FORMANTS = 9
#: klatt voice sources of espeak-ng (0: its own wave generator); VoiceSpec's field defaults are
#: espeak-ng's defaults for attributes a variant file does not set
KLATT_CLASSES = (0, 1, 2, 3, 4, 5, 6)
ACCENTS = ENGLISH_ACCENTS

#: names of the continuous coordinates, in vector order
CONTINUOUS: tuple[str, ...] = (
    ("log_pitch_base", "log_pitch_top_ratio")
    + tuple(f"formant{k}_{a}" for k in range(NUM_FORMANTS) for a in ("freq", "height", "width"))
    + ("flutter", "roughness", "voicing", "consonants_unvoiced", "consonants_voiced", "breath", "echo_delay",
       "echo_amp")
    + tuple(f"stress_add{k}" for k in range(8))
    + ("api_pitch", "api_range", "api_rate", "api_word_gap", "tilt_db_per_octave", "log_peak_hz", "peak_db",
       "peak_width_oct")
)
#: valid interval of each coordinate (values are clipped into it when a vector becomes a voice)
BOUNDS: dict[str, tuple[float, float]] = {
    "log_pitch_base": (math.log(50.0), math.log(350.0)), "log_pitch_top_ratio": (0.0, math.log(2.5)),
    **{f"formant{k}_freq": (40.0, 160.0) for k in range(NUM_FORMANTS)},
    **{f"formant{k}_height": (0.0, 200.0) for k in range(NUM_FORMANTS)},
    **{f"formant{k}_width": (20.0, 300.0) for k in range(NUM_FORMANTS)},
    "flutter": (0.0, 10.0), "roughness": (0.0, 7.0), "voicing": (30.0, 200.0), "consonants_unvoiced": (20.0, 200.0),
    "consonants_voiced": (20.0, 200.0), "breath": (0.0, 10.0), "echo_delay": (0.0, 250.0), "echo_amp": (0.0, 40.0),
    **{f"stress_add{k}": (-60.0, 200.0) for k in range(8)},
    "api_pitch": (0.0, 99.0), "api_range": (0.0, 99.0), "api_rate": (80.0, 450.0), "api_word_gap": (0.0, 10.0),
    "tilt_db_per_octave": (-6.0, 6.0), "log_peak_hz": (math.log(200.0), math.log(6000.0)), "peak_db": (-12.0, 12.0),
    "peak_width_oct": (0.1, 1.0),
}


@dataclass
class VoiceSpec:
    """One espeak-ng voice: the variant-file part and the renderer's speaker traits."""

    pitch_base: float = 82.0            # Hz (variant file ``pitch <base> <top>``)
    pitch_top: float = 118.0            # Hz
    formants: list[list[float]] = field(default_factory=lambda: [[100.0, 100.0, 100.0] for _ in range(NUM_FORMANTS)])
    flutter: float = 2.0
    roughness: float = 2.0
    voicing: float = 100.0
    consonants: tuple[float, float] = (100.0, 100.0)
    breath: float = 0.0                 # one level for formants 1-8
    echo: tuple[float, float] = (0.0, 0.0)   # delay ms, amplitude
    stress_add: list[float] = field(default_factory=lambda: [0.0] * 8)
    klatt: int = 0
    accent: str = "en-us"               # espeak language voice the variant is applied to
    api_pitch: float = 50.0             # espeak API pitch 0-99, relative to the variant's
    api_range: float = 50.0
    api_rate: float = 165.0             # words per minute
    api_word_gap: float = 0.0           # units of 10 ms
    tilt_db_per_octave: float = 0.0     # speaker colouring, as in embspace.corpus.mini.speaker_fir
    peak_hz: float = 1000.0
    peak_db: float = 0.0
    peak_width_oct: float = 0.4

    # ------------------------------------------------------------------ vector form
    def to_vector(self) -> tuple[np.ndarray, int, int]:
        """``(continuous coordinates, accent index, klatt index)``."""
        v = [math.log(self.pitch_base), math.log(max(self.pitch_top / self.pitch_base, 1.0))]
        for f in self.formants:
            v += list(f)
        v += [self.flutter, self.roughness, self.voicing, *self.consonants, self.breath, *self.echo, *self.stress_add]
        v += [self.api_pitch, self.api_range, self.api_rate, self.api_word_gap, self.tilt_db_per_octave,
              math.log(self.peak_hz), self.peak_db, self.peak_width_oct]
        return np.asarray(v, dtype=np.float64), ACCENTS.index(self.accent), KLATT_CLASSES.index(self.klatt)

    @classmethod
    def from_vector(cls, vec: np.ndarray, accent: int, klatt: int) -> "VoiceSpec":
        """The voice of a coordinate vector (clipped into :data:`BOUNDS`) and two class indices."""
        vec = np.asarray(vec, dtype=np.float64).reshape(-1)
        if vec.shape[0] != len(CONTINUOUS):
            raise DataError(f"a voice vector has {len(CONTINUOUS)} coordinates, got {vec.shape[0]}")
        lo = np.array([BOUNDS[n][0] for n in CONTINUOUS])
        hi = np.array([BOUNDS[n][1] for n in CONTINUOUS])
        v = dict(zip(CONTINUOUS, np.clip(np.nan_to_num(vec, nan=0.0), lo, hi).tolist()))
        base = math.exp(v["log_pitch_base"])
        return cls(
            pitch_base=base, pitch_top=base * math.exp(v["log_pitch_top_ratio"]),
            formants=[[v[f"formant{k}_{a}"] for a in ("freq", "height", "width")] for k in range(NUM_FORMANTS)],
            flutter=v["flutter"], roughness=v["roughness"], voicing=v["voicing"],
            consonants=(v["consonants_unvoiced"], v["consonants_voiced"]), breath=v["breath"],
            echo=(v["echo_delay"], v["echo_amp"]), stress_add=[v[f"stress_add{k}"] for k in range(8)],
            klatt=KLATT_CLASSES[int(klatt)], accent=ACCENTS[int(accent)],
            api_pitch=v["api_pitch"], api_range=v["api_range"], api_rate=v["api_rate"],
            api_word_gap=v["api_word_gap"], tilt_db_per_octave=v["tilt_db_per_octave"],
            peak_hz=math.exp(v["log_peak_hz"]), peak_db=v["peak_db"], peak_width_oct=v["peak_width_oct"],
        )

    # ------------------------------------------------------------------ espeak-ng files
    def variant_text(self) -> str:
        """The variant file of this voice (integers, as espeak-ng reads them)."""
        r = lambda x: int(round(x))  # noqa: E731
        lines = ["language variant", "name inside", "",
                 f"pitch {r(self.pitch_base)} {max(r(self.pitch_top), r(self.pitch_base))}"]
        lines += [f"formant {k} {r(f)} {r(h)} {r(w)}" for k, (f, h, w) in enumerate(self.formants)]
        lines += [f"flutter {r(self.flutter)}", f"roughness {r(self.roughness)}", f"voicing {r(self.voicing)}",
                  f"consonants {r(self.consonants[0])} {r(self.consonants[1])}"]
        if r(self.breath) > 0:
            lines.append("breath " + " ".join([str(r(self.breath))] * 8))
        if r(self.echo[0]) > 0 and r(self.echo[1]) > 0:
            lines.append(f"echo {r(self.echo[0])} {r(self.echo[1])}")
        lines.append("stressAdd " + " ".join(str(r(x)) for x in self.stress_add))
        if self.klatt:
            lines.append(f"klatt {self.klatt}")
        return "\n".join(lines) + "\n"


def parse_variant(text: str, source: str = "<variant>") -> VoiceSpec:
    """The variant-file part of a voice from the text of a shipped variant (other fields default)."""
    spec = VoiceSpec()
    breath: list[float] = []
    for n, raw in enumerate(text.splitlines(), 1):
        fields = raw.split("//")[0].split()
        if not fields:
            continue
        key, args = fields[0], fields[1:]
        try:
            nums = [float(a) for a in args]
        except ValueError:
            continue  # name, language, gender... carry no sound parameters
        if key == "pitch" and len(nums) >= 2:
            spec.pitch_base, spec.pitch_top = nums[0], max(nums[1], nums[0])
        elif key == "formant" and len(nums) >= 4 and 0 <= int(nums[0]) < NUM_FORMANTS:
            spec.formants[int(nums[0])] = nums[1:4]
        elif key in ("flutter", "roughness", "voicing") and nums:
            setattr(spec, key, nums[0])
        elif key == "consonants" and nums:
            spec.consonants = (nums[0], nums[1] if len(nums) > 1 else 100.0)
        elif key == "breath":
            breath = nums
        elif key == "echo" and len(nums) >= 2:
            spec.echo = (nums[0], nums[1])
        elif key == "stressAdd":
            spec.stress_add = (nums + [0.0] * 8)[:8]
        elif key == "klatt" and nums:
            if int(nums[0]) not in KLATT_CLASSES:
                raise DataError(f"klatt {int(nums[0])} is not one of {KLATT_CLASSES}", source, n)
            spec.klatt = int(nums[0])
    if breath:
        spec.breath = float(np.mean(breath))
    return spec


def shipped_variants(data_path: str | os.PathLike | None = None) -> dict[str, tuple[str, VoiceSpec]]:
    """``{variant: (gender, VoiceSpec)}`` for the usable shipped variants (those of ``VARIANT_GENDER``)."""
    if data_path is None:
        import espeakng_loader

        data_path = espeakng_loader.get_data_path()
    vdir = Path(data_path) / "voices" / "!v"
    out = {}
    for name, gender in sorted(VARIANT_GENDER.items()):
        path = vdir / name
        if path.is_file() and name not in EXCLUDED_VARIANTS:
            out[name] = (gender, parse_variant(path.read_text(encoding="utf-8", errors="replace"), str(path)))
    if not out:
        raise DataError("no usable espeak-ng voice variants found", vdir)
    return out


#: speaker traits the renderer adds to a variant (coordinates of :data:`CONTINUOUS` set per voice)
TRAITS = ("api_pitch", "api_range", "api_rate", "api_word_gap", "tilt_db_per_octave", "log_peak_hz", "peak_db",
          "peak_width_oct")


@dataclass
class VoiceCode:
    """A voice as the conditioning network sees it: a convex blend of shipped variants (anchors),
    an accent voice and the speaker traits (:data:`TRAITS`, in :data:`CONTINUOUS` units)."""

    anchors: dict[str, float]
    accent: str
    traits: dict[str, float]

    def realise(self, anchors: dict[str, VoiceSpec]) -> VoiceSpec:
        """The :class:`VoiceSpec`: blended variant coordinates (klatt source of the heaviest anchor),
        then the traits and the accent."""
        total = sum(self.anchors.values())
        if not self.anchors or not total > 0:
            raise DataError("a voice needs at least one anchor with a positive weight")
        missing = [a for a in self.anchors if a not in anchors]
        if missing:
            raise DataError("unknown espeak-ng variant", key=missing[0])
        vec = sum(w / total * anchors[a].to_vector()[0] for a, w in self.anchors.items())
        klatt = anchors[max(sorted(self.anchors), key=lambda a: self.anchors[a])].to_vector()[2]
        names = list(CONTINUOUS)
        for name, value in self.traits.items():
            vec[names.index(name)] = value
        return VoiceSpec.from_vector(vec, ACCENTS.index(self.accent), klatt)


def sample_code(rng: random.Random, gender: str, anchors: dict[str, tuple[str, VoiceSpec]],
                pure_fraction: float = 0.5, cfg: MiniConfig | None = None) -> VoiceCode:
    """A random voice of ``gender``: with probability ``pure_fraction`` one shipped variant, otherwise
    a blend of two (weight ~ U(0, 1)); accent and speaker traits drawn from the ranges of the mini
    corpus (``cfg``, default ``MiniConfig()``), as its speakers are."""
    cfg = cfg or MiniConfig()
    pool = sorted(n for n, (g, _) in anchors.items() if g == gender)
    if not pool:
        raise DataError(f"no espeak-ng variant of gender '{gender}'", key=gender)
    a, b = rng.choice(pool), rng.choice(pool)
    w = 0.0 if rng.random() < pure_fraction else rng.random()
    weights = {a: 1.0} if a == b or w == 0.0 else {a: 1.0 - w, b: w}
    accent = ACCENTS[rng.randrange(len(ACCENTS))]
    traits = {
        "api_pitch": rng.randint(*cfg.speaker_pitch), "api_range": rng.randint(*cfg.speaker_range),
        "api_rate": rng.randint(*cfg.speaker_rate), "api_word_gap": rng.randint(*cfg.word_gap),
        "tilt_db_per_octave": rng.uniform(-cfg.tilt_db_per_octave, cfg.tilt_db_per_octave),
        "log_peak_hz": rng.uniform(math.log(400.0), math.log(4000.0)),
        "peak_db": rng.uniform(-cfg.peak_db, cfg.peak_db), "peak_width_oct": rng.uniform(0.2, 0.6),
    }
    return VoiceCode(weights, accent, {k: float(v) for k, v in traits.items()})


def private_data_dir(dest: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """An ``espeak-ng-data`` folder at ``dest`` made of symbolic links to ``source`` (default: the
    installed one) except ``voices/!v``, a real folder (links to the shipped variants) where new
    variants can be written. Idempotent; returns ``dest``."""
    if source is None:
        import espeakng_loader

        source = espeakng_loader.get_data_path()
    source, dest = Path(source).resolve(), Path(dest)
    if not (source / "phontab").is_file():
        raise DataError("not an espeak-ng-data folder (no phontab)", source)
    vdir = dest / "voices" / "!v"
    vdir.mkdir(parents=True, exist_ok=True)

    def link(target: Path, at: Path) -> None:
        if not at.is_symlink() and not at.exists():
            try:
                at.symlink_to(target)
            except FileExistsError:  # another process made it meanwhile
                pass

    for entry in source.iterdir():
        if entry.name != "voices":
            link(entry, dest / entry.name)
    for entry in (source / "voices").iterdir():
        if entry.name != "!v":
            link(entry, dest / "voices" / entry.name)
    for entry in (source / "voices" / "!v").iterdir():
        link(entry, vdir / entry.name)
    _remove_stale_variants(vdir)
    return dest


@contextlib.contextmanager
def installed_variant(data_dir: str | os.PathLike, spec: VoiceSpec) -> Iterator[str]:
    """Write ``spec``'s variant file into ``data_dir/voices/!v`` for the duration of the block and
    yield its name. espeak-ng lists at most ~350 voice files, so generated variants are not kept:
    each process uses one file name (``ins<pid>``), rewritten per voice and removed afterwards."""
    name = f"ins{os.getpid()}"
    path = Path(data_dir) / "voices" / "!v" / name
    atomic_write_text(path, spec.variant_text())
    try:
        yield name
    finally:
        path.unlink(missing_ok=True)


def _remove_stale_variants(vdir: Path) -> None:
    """Delete ``ins<pid>`` files left by processes that no longer run (killed mid-synthesis)."""
    for f in vdir.glob("ins*"):
        pid = f.name[3:]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except PermissionError:
            pass


def speak(spec: VoiceSpec, text: str, data_dir: str | os.PathLike, seed: int, language: str = "en",
          pitch_jitter: int = 3, rate_jitter: int = 10) -> np.ndarray:
    """``text`` spoken by ``spec``: espeak-ng with the voice's variant (installed into ``data_dir``,
    a :func:`private_data_dir`) and speaker colouring; float64 at 16 kHz, clean. ``seed`` draws the
    per-utterance pitch/rate jitter (as in the corpus) and seeds espeak-ng."""
    from embspace.corpus.espeak import get_synth
    from embspace.corpus.mini import Speaker, Utterance, render_voice

    synth = get_synth(str(data_dir))
    rng = random.Random(seed)
    with installed_variant(data_dir, spec) as name:
        voice = f"{spec.accent if language == 'en' else language}+{name}"
        spk = Speaker(speaker="voice", split="", gender="", variant=name, accent=spec.accent, pitch=int(round(spec.api_pitch)),
                      pitch_range=int(round(spec.api_range)), rate=int(round(spec.api_rate)),
                      word_gap=int(round(spec.api_word_gap)), gain_db=0.0, tilt_db_per_octave=spec.tilt_db_per_octave,
                      peak_hz=spec.peak_hz, peak_db=spec.peak_db, peak_width_oct=spec.peak_width_oct)
        utt = Utterance(utt="voice", speaker="voice", gender="", language=language, text=text, session=0, noise="white",
                        snr=0.0, voice=voice, pitch=min(99, max(0, spk.pitch + rng.randint(-pitch_jitter, pitch_jitter))),
                        rate=min(450, max(80, spk.rate + rng.randint(-rate_jitter, rate_jitter))), pad_before_s=0.0,
                        pad_after_s=0.0, synth_seed=rng.getrandbits(31), noise_seed=0)
        return render_voice(utt, spk, synth)
