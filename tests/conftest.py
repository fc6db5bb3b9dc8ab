"""Shared fixtures: a tiny synthetic corpus (no espeak) with manifests, Kaldi dirs and fbank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


def run_cli(module: str, *args: str, check: bool = True, cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m embspace.bin.<module> args`` and return the completed process."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", f"embspace.bin.{module}", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{module} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def synth_voice(rng: np.random.Generator, f0: float, formants: list[float], seconds: float, sr: int = 16000) -> np.ndarray:
    """A buzzy harmonic tone through a few resonances: crude, speaker-dependent, fast."""
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    gain = sum(np.exp(-((freqs - fm) / 150.0) ** 2) for fm in formants) + 0.05
    y = np.fft.irfft(spec * gain, n=len(x))
    y += 0.02 * rng.standard_normal(len(y)) * np.abs(y).max()
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def make_tiny_corpus(root: Path, num_speakers: int = 8, utts: int = 6, num_test: int = 3, seed: int = 0) -> Path:
    """Write wavs and ``metadata.jsonl`` in the layout of the mini corpus; returns the metadata path."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for s in range(num_speakers):
        spk = f"spk{s:03d}"
        f0 = rng.uniform(90, 240)
        formants = list(rng.uniform([300, 900, 2000], [900, 2200, 3500]))
        gender = "f" if f0 > 165 else "m"
        split = "test" if s >= num_speakers - num_test else "train"
        for u in range(utts):
            utt = f"{spk}-u{u:03d}"
            path = Path("wav") / spk / f"{utt}.wav"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            sf.write(root / path, synth_voice(rng, f0, formants, rng.uniform(1.0, 1.6)), 16000, subtype="PCM_16")
            lines.append({"utt": utt, "speaker": spk, "gender": gender, "language": "en", "text": "tone",
                          "path": str(path), "split": split, "session": "s1", "style": "neutral"})
    meta = root / "metadata.jsonl"
    meta.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return meta


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Tiny corpus -> manifests + Kaldi dirs -> stored fbank (40 mel) for train and test."""
    root = tmp_path_factory.mktemp("tiny")
    meta = make_tiny_corpus(root / "corpus")
    run_cli("prepare_manifests", "--metadata", meta, "--corpus", "tiny", "--manifest-dir", root / "manifests",
            "--kaldi-dir", root / "data")
    for split in ("train", "test"):
        run_cli("compute_fbank", "--manifest-dir", root / "manifests", "--corpus", "tiny", "--split", split,
                "--out-dir", root / "fbank", "--num-mel-bins", "40")
    return {"root": root, "metadata": meta, "manifests": root / "manifests", "data": root / "data",
            "train_cuts": root / "fbank" / "tiny_cuts_train.jsonl.gz", "test_cuts": root / "fbank" / "tiny_cuts_test.jsonl.gz"}


EMOTION_SHIFT = {"neutral": (1.0, 1.0), "angry": (1.3, 1.8), "sad": (0.8, 0.4), "happy": (1.5, 1.2)}  # f0 factor, level


def make_tiny_emotion_corpus(root: Path, num_speakers: int = 6, num_test: int = 2, neutral: int = 4, per_emotion: int = 2,
                             emotions: tuple[str, ...] = ("angry", "sad"), seed: int = 1) -> Path:
    """Like :func:`make_tiny_corpus`, each speaker with ``neutral`` neutral utterances and ``per_emotion``
    in each of ``emotions`` (pitch and level changed); the label is in the metadata field ``emotion``."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for s in range(num_speakers):
        spk = f"spk{s:03d}"
        f0 = rng.uniform(90, 240)
        formants = list(rng.uniform([300, 900, 2000], [900, 2200, 3500]))
        split = "test" if s >= num_speakers - num_test else "train"
        for emo in ("neutral", *emotions):
            factor, level = EMOTION_SHIFT[emo]
            for u in range(neutral if emo == "neutral" else per_emotion):
                utt = f"{spk}-{emo}-u{u:02d}"
                path = Path("wav") / spk / f"{utt}.wav"
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                x = synth_voice(rng, f0 * factor, formants, rng.uniform(1.0, 1.6)) * level
                sf.write(root / path, np.clip(x, -0.99, 0.99), 16000, subtype="PCM_16")
                lines.append({"utt": utt, "speaker": spk, "gender": "f" if f0 > 165 else "m", "path": str(path),
                              "split": split, "emotion": emo})
    meta = root / "metadata.jsonl"
    meta.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return meta


@pytest.fixture(scope="session")
def tiny_emotion_data(tmp_path_factory) -> dict[str, Path]:
    """Tiny emotional corpus -> manifests -> stored fbank (40 mel) for train and test."""
    root = tmp_path_factory.mktemp("tiny_emotion")
    meta = make_tiny_emotion_corpus(root / "corpus")
    run_cli("prepare_manifests", "--metadata", meta, "--corpus", "emo", "--manifest-dir", root / "manifests",
            "--kaldi-dir", root / "data")
    for split in ("train", "test"):
        run_cli("compute_fbank", "--manifest-dir", root / "manifests", "--corpus", "emo", "--split", split,
                "--out-dir", root / "fbank", "--num-mel-bins", "40")
    return {"root": root, "train_cuts": root / "fbank" / "emo_cuts_train.jsonl.gz",
            "test_cuts": root / "fbank" / "emo_cuts_test.jsonl.gz"}
