"""espeak-ng speech synthesis through ctypes (libespeak-ng shipped by ``espeakng-loader``).

libespeak-ng keeps its state in process-global variables, so :func:`get_synth` hands out one
lazily initialised :class:`EspeakSynth` per process. It is **not thread-safe**: use it from one
thread only (worker *processes* each get their own instance).

Output is float32 mono at 16 kHz, resampled from espeak's 22050 Hz by a windowed-sinc polyphase
filter (160/441). libespeak-ng carries hidden state from one utterance to the next (function-level statics such as
the pitch-flutter index, which neither ``espeak_Initialize`` nor a voice change resets), so the same
call would give different samples depending on what was synthesised before. To be deterministic,
each utterance is synthesised in a ``fork()``-ed child of the initialised (never used) engine, with
espeak's random generator and libc ``rand()`` seeded: the same call gives the same samples in any
process, in any order. This costs about a millisecond per utterance and needs ``os.fork`` (POSIX);
``isolate=False`` synthesises in-process instead (faster, not reproducible).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
from pathlib import Path

import numpy as np

from embspace.utils.errors import DataError

TARGET_RATE = 16000

# enum espeak_AUDIO_OUTPUT
AUDIO_OUTPUT_PLAYBACK, AUDIO_OUTPUT_RETRIEVAL, AUDIO_OUTPUT_SYNCHRONOUS, AUDIO_OUTPUT_SYNCH_PLAYBACK = 0, 1, 2, 3
# enum espeak_PARAMETER
espeakRATE, espeakVOLUME, espeakPITCH, espeakRANGE, espeakPUNCTUATION, espeakCAPITALS, espeakWORDGAP = 1, 2, 3, 4, 5, 6, 7
POS_CHARACTER = 1
espeakCHARS_UTF8 = 1
espeakSSML = 0x10  # synth flag: the text is SSML (<speak>, <prosody>, <break>, <emphasis>)
EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@functools.lru_cache(maxsize=None)
def _sinc_bank(up: int, down: int, zeros: int = 24, rolloff: float = 0.95, beta: float = 8.6) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc filter bank ``[up, 2*half]`` for rational resampling by ``up/down``."""
    fc = 0.5 * min(1.0, up / down) * rolloff  # cut-off in cycles per input sample
    half = int(math.ceil(zeros / (2 * fc)))
    j = np.arange(-half + 1, half + 1)
    t = np.arange(up)[:, None] / up - j[None, :]  # distance (input samples) from output instant to tap
    w = np.kaiser(2 * half + 1, beta)
    win = np.interp(t, np.arange(-half, half + 1), w, left=0.0, right=0.0)
    bank = 2 * fc * np.sinc(2 * fc * t) * win
    return bank, half  # column k weights x[base - half + 1 + k] for outputs at base + phase/up


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Resample ``x`` by ``up/down`` with a windowed-sinc polyphase filter (``up``, ``down`` coprime)."""
    if math.gcd(up, down) != 1:
        g = math.gcd(up, down)
        up, down = up // g, down // g
    bank, half = _sinc_bank(up, down)
    x = np.asarray(x, dtype=np.float64)
    n_out = int(math.ceil(len(x) * up / down))
    xp = np.pad(x, (half, half + down // up + 2))
    windows = np.lib.stride_tricks.sliding_window_view(xp, 2 * half)
    y = np.empty(n_out, dtype=np.float64)
    for n0 in range(min(up, n_out)):
        # outputs n0, n0+up, ... share the phase (n0*down) % up; their bases step by ``down``
        base0, phase = divmod(n0 * down, up)
        # window row r holds xp[r : r+2*half] = x[r-half : r+half]; we need x[base-half+1 : base+half+1]
        y[n0::up] = windows[base0 + 1 :: down][: len(range(n0, n_out, up))] @ bank[phase]
    return y.astype(np.float32)


class EspeakSynth:
    """One libespeak-ng engine (process-global state; see the module docstring)."""

    def __init__(self, data_path: str | None = None, library_path: str | None = None, isolate: bool = True):
        import espeakng_loader

        self.isolate = isolate and hasattr(os, "fork")
        self.library_path = library_path or espeakng_loader.get_library_path()
        self.data_path = data_path or espeakng_loader.get_data_path()
        lib = ctypes.CDLL(self.library_path)
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        self._lib = lib
        self._set_rand_seed = getattr(lib, "espeak_ng_SetRandSeed", None)  # espeak-ng >= 1.52
        if self._set_rand_seed is not None:
            self._set_rand_seed.argtypes = [ctypes.c_long]
            self._set_rand_seed.restype = ctypes.c_int
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"))
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if rate <= 0:
            raise DataError(f"espeak_Initialize failed ({rate})", self.data_path)
        self.native_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)  # keep a reference: C holds only the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, numsamples: int, events) -> int:
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        return 0  # 0 = go on synthesising

    def _set(self, param: int, value: int) -> None:
        if self._lib.espeak_SetParameter(param, int(value), 0) != EE_OK:
            raise DataError(f"espeak_SetParameter({param}, {value}) failed")

    def synth_native(self, text: str, voice: str = "en", rate: int = 175, pitch: int = 50, pitch_range: int = 50,
                     word_gap: int = 0, volume: int = 100, seed: int = 0, ssml: bool = False) -> np.ndarray:
        """Synthesise ``text`` with ``voice`` (``lang[+variant]``, e.g. ``en-us+m3``) as int16 at ``native_rate``.

        ``rate`` is in words per minute (80-450), ``pitch``/``pitch_range`` 0-99 (relative to the
        voice's own pitch), ``word_gap`` in units of 10 ms, ``seed`` seeds espeak's noise sources;
        ``ssml``: ``text`` is SSML markup (``<speak><prosody pitch="+20%">...</prosody></speak>``).
        The synthesis runs in a forked child so that it starts from the pristine post-initialisation
        state (see the module docstring).
        """
        args = (text, voice, int(rate), int(pitch), int(pitch_range), int(word_gap), int(volume), int(seed), bool(ssml))
        if not self.isolate:
            return self._synth_here(*args)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: synthesise, send, exit without running any Python clean-up
            status = 0
            try:
                os.close(r)
                try:
                    payload = b"K" + self._synth_here(*args).tobytes()
                except BaseException as e:  # noqa: BLE001 - reported to the parent
                    payload, status = b"E" + str(e).encode("utf-8", "replace"), 1
                view = memoryview(payload)
                while view:
                    view = view[os.write(w, view):]
            finally:
                os._exit(status)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            payload = f.read()
        _, wait_status = os.waitpid(pid, 0)
        if payload[:1] == b"E":
            raise DataError(payload[1:].decode("utf-8", "replace"))
        if payload[:1] != b"K" or os.waitstatus_to_exitcode(wait_status) != 0:
            raise DataError(f"espeak child process failed (status {wait_status})", key=voice)
        return np.frombuffer(payload[1:], dtype=np.int16).copy()

    def _synth_here(self, text: str, voice: str, rate: int, pitch: int, pitch_range: int, word_gap: int,
                    volume: int, seed: int, ssml: bool = False) -> np.ndarray:
        """Synthesise in this process (its result depends on what was synthesised before)."""
        lib = self._lib
        if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise DataError("unknown espeak-ng voice", self.data_path, key=voice)
        for param, value in ((espeakRATE, rate), (espeakVOLUME, volume), (espeakPITCH, pitch),
                             (espeakRANGE, pitch_range), (espeakWORDGAP, word_gap)):
            self._set(param, value)
        if self._set_rand_seed is not None:
            self._set_rand_seed(seed)
        self._libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))
        self._chunks = []
        data = text.encode("utf-8")
        flags = espeakCHARS_UTF8 | (espeakSSML if ssml else 0)
        err = lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, flags, None, None)
        if err != EE_OK or lib.espeak_Synchronize() != EE_OK:
            raise DataError(f"espeak_Synth failed ({err})", key=text[:40])
        out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return out

    def synth(self, text: str, voice: str = "en", rate: int = 175, pitch: int = 50, pitch_range: int = 50,
              word_gap: int = 0, volume: int = 100, seed: int = 0, ssml: bool = False) -> np.ndarray:
        """Like :meth:`synth_native` but float32 in [-1, 1] at 16 kHz."""
        pcm = self.synth_native(text, voice, rate, pitch, pitch_range, word_gap, volume, seed, ssml)
        x = pcm.astype(np.float32) / 32768.0
        if self.native_rate == TARGET_RATE:
            return x
        g = math.gcd(TARGET_RATE, self.native_rate)
        return resample_poly(x, TARGET_RATE // g, self.native_rate // g)


_SYNTH: EspeakSynth | None = None


def get_synth(data_path: str | None = None) -> EspeakSynth:
    """The process-wide :class:`EspeakSynth`, created on first use (not thread-safe).

    ``data_path``: an espeak-ng data folder other than the packaged one (e.g. one with extra voice
    variants); asking for another folder than the engine's re-initialises the engine there.
    """
    global _SYNTH
    if _SYNTH is None or (data_path is not None and _SYNTH.data_path != data_path):
        _SYNTH = EspeakSynth(data_path=data_path)
    elif data_path is None and _SYNTH.data_path != _default_data_path():
        _SYNTH = EspeakSynth()
    return _SYNTH


def _default_data_path() -> str:
    import espeakng_loader

    return espeakng_loader.get_data_path()


def list_variants(data_path: str | None = None) -> list[str]:
    """Names of the voice variants in ``espeak-ng-data/voices/!v``."""
    if data_path is None:
        import espeakng_loader

        data_path = espeakng_loader.get_data_path()
    return sorted(p.name for p in (Path(data_path) / "voices" / "!v").iterdir() if p.is_file())
