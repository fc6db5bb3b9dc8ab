"""Synthesis of identities with any :class:`~embspace.inside.backend.TTSBackend`, resumable per identity.

For each identity (in id order) the driver picks its texts (:func:`plan_texts`), asks the backend
for the waveforms, checks them (one per text, mono, finite, not silent, long enough), optionally
"records" them like the mini corpus does (2-3 sessions with channel and noise, :func:`embspace.signal.recording.record_speaker`),
writes ``wav/<id>/<id>-uNNN.wav`` and last ``records/<id>.json``. An identity with a record is done:
a rerun skips it, so a killed or failed run loses at most the identity it was working on, and the
next run resumes. A failing identity stops the run with a DataError naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from embspace.inside.backend import OUTPUT_RATE, TTSBackend
from embspace.inside.identities import Identity
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError


@dataclass
class SynthesisOptions:
    """What each identity says and how it is recorded."""

    utts_per_identity: int = 10
    language: str = "en"
    unique_text_per_utt: bool = True   # no text twice for one identity while the list lasts
    record: bool = False               # simulate recording sessions (channel, noise) like the mini corpus
    min_duration: float = 0.1          # seconds; shorter output is a backend failure


def plan_texts(identity: Identity, texts: Sequence[str], n: int, unique: bool = True) -> list[str]:
    """``n`` texts for one identity, drawn with its seed (without repetition while the list lasts
    when ``unique``)."""
    if not texts:
        raise DataError("no texts to synthesise", key="text_source")
    rng = random.Random(identity.seed)
    if not unique:
        return [rng.choice(texts) for _ in range(n)]
    out: list[str] = []
    deck: list[str] = []
    while len(out) < n:
        if not deck:
            deck = list(texts)
            rng.shuffle(deck)
        out.append(deck.pop())
    return out


def utt_id(identity: str, k: int) -> str:
    """Utterance id: starts with the speaker id, so Kaldi tables sort consistently."""
    return f"{identity}-u{k:03d}"


def check_waveforms(wavs: Any, n: int, min_samples: int, key: str, source: object = None) -> list[np.ndarray]:
    """The backend's output as ``n`` float32 mono waveforms; anything else names the identity."""
    if not isinstance(wavs, (list, tuple)) or len(wavs) != n:
        got = len(wavs) if isinstance(wavs, (list, tuple)) else type(wavs).__name__
        raise DataError(f"backend returned {got} waveforms for {n} texts", source, key=key)
    out = []
    for k, w in enumerate(wavs):
        w = np.asarray(w, dtype=np.float32)
        if w.ndim != 1 or len(w) < min_samples:
            raise DataError(f"utterance {k}: expected mono audio of at least {min_samples} samples, got shape {w.shape}",
                            source, key=key)
        if not np.all(np.isfinite(w)) or not np.any(w):
            raise DataError(f"utterance {k}: audio is silent or not finite", source, key=key)
        out.append(w)
    return out


def record_path(out_dir: str | os.PathLike, identity: str) -> Path:
    return Path(out_dir) / "records" / f"{identity}.json"


def conditioning_hash(conditioning: np.ndarray) -> str:
    """Short hash of a conditioning vector (kept in the record, checked when the data set is built)."""
    return hashlib.sha256(np.ascontiguousarray(conditioning, dtype=np.float32).tobytes()).hexdigest()[:20]


def synthesis_key(conditioning: np.ndarray, texts: Sequence[str], opts: SynthesisOptions, backend: str, space: str) -> str:
    """What an identity's audio depends on: its conditioning vector, texts, options and backend. A
    record made from other inputs (an identity id reused by another pairing) is not reused."""
    h = hashlib.sha256(conditioning_hash(conditioning).encode())
    h.update(json.dumps([list(texts), asdict(opts), backend, space]).encode())
    return h.hexdigest()[:20]


def read_record(out_dir: str | os.PathLike, identity: str, key: str | None = None) -> dict | None:
    """The record of a finished identity, or None when it is missing, was made from other inputs
    (``key`` given and different) or its wavs are not all there."""
    path = record_path(out_dir, identity)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if key is not None and rec.get("key") != key:
        return None
    if not all((Path(out_dir) / u["path"]).is_file() for u in rec.get("utts", [])):
        return None
    return rec


def save_identity(out_dir: str | os.PathLike, ident: Identity, conditioning: np.ndarray, texts: Sequence[str], wavs: Any,
                  opts: SynthesisOptions, backend: str, space: str, source: object = None) -> dict:
    """Check one identity's waveforms (16 kHz), record them if asked, write its wavs and, last, its record."""
    import soundfile as sf

    from embspace.signal.recording import record_speaker

    out = Path(out_dir)
    wavs = check_waveforms(wavs, len(texts), int(opts.min_duration * OUTPUT_RATE), ident.id, source)
    if opts.record:
        wavs = record_speaker(wavs, random.Random(ident.seed))
    utts = []
    for k, (text, w) in enumerate(zip(texts, wavs)):
        uid = utt_id(ident.id, k)
        rel = f"wav/{ident.id}/{uid}.wav"
        with atomic_path(out / rel) as tmp:
            sf.write(str(tmp), w, OUTPUT_RATE, subtype="PCM_16", format="WAV")
        utts.append({"utt": uid, "path": rel, "text": text, "language": opts.language,
                     "duration": round(len(w) / OUTPUT_RATE, 4)})
    rec = {"identity": ident.id, "gender": ident.gender, "backend": backend, "space": space,
           "key": synthesis_key(conditioning, texts, opts, backend, space), "cond": conditioning_hash(conditioning),
           "utts": utts}
    atomic_write_text(record_path(out, ident.id), json.dumps(rec) + "\n")
    return rec


def synthesize_identities(backend: TTSBackend, identities: Sequence[Identity], conditioning: np.ndarray,
                          texts: Sequence[str], out_dir: str | os.PathLike, opts: SynthesisOptions,
                          source: object = None, progress: Callable[[Iterator], Iterator] | None = None) -> dict[str, int]:
    """Synthesise every identity that has no record yet; returns ``{"done": n, "skipped": m}``."""
    out = Path(out_dir)
    if len(identities) != len(conditioning):
        raise DataError(f"{len(identities)} identities but {len(conditioning)} conditioning vectors", source)
    counts = {"done": 0, "skipped": 0}
    items = list(zip(identities, conditioning))
    for ident, cond in (progress(items) if progress else items):
        plan = plan_texts(ident, texts, opts.utts_per_identity, opts.unique_text_per_utt)
        key = synthesis_key(cond, plan, opts, backend.name, backend.space)
        if read_record(out, ident.id, key) is not None:
            counts["skipped"] += 1
            continue
        try:
            wavs = backend.synthesize(np.asarray(cond), plan, opts.language)
        except DataError as e:
            raise DataError(f"TTS backend '{backend.name}' failed: {e}", source, key=ident.id) from e
        save_identity(out, ident, cond, plan, wavs, opts, backend.name, backend.space, source)
        counts["done"] += 1
    return counts


def metadata_entries(identities: Sequence[Identity], conditioning: np.ndarray, synth_dir: str | os.PathLike,
                     split: str = "train") -> list[dict]:
    """One ``metadata.jsonl``-style entry per synthesised utterance (paths relative to ``synth_dir``);
    an identity without a finished record made from its conditioning vector is an error naming it."""
    entries = []
    for ident, cond in zip(identities, conditioning):
        rec = read_record(synth_dir, ident.id)
        if rec is None or rec.get("cond") != conditioning_hash(cond):
            raise DataError("identity has not been synthesised from this conditioning vector; run the synthesis again",
                            record_path(synth_dir, ident.id), key=ident.id)
        for u in rec["utts"]:
            entries.append({"utt": u["utt"], "speaker": ident.id, "gender": ident.gender, "language": u["language"],
                            "text": u["text"], "path": u["path"], "split": split, "duration": u["duration"],
                            "inside_parents": f"{ident.parent_a},{ident.parent_b}", "inside_alpha": ident.alpha})
    return entries
