"""Shared fixtures: a tiny synthetic corpus (no espeak) with manifests, Kaldi dirs and fbank."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def slurm_answers() -> bool:
    """True when a Slurm controller answers ``sinfo`` with at least one node."""
    if shutil.which("sinfo") is None:
        return False
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and bool(r.stdout.split())


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``slurm`` skip when no controller answers; with ``EMBSPACE_REQUIRE_SLURM=1`` (set by
    ``.ci/run`` after starting one) they fail instead, so a broken Slurm cannot pass unnoticed."""
    if item.get_closest_marker("slurm") is None or slurm_answers():
        return
    if os.environ.get("EMBSPACE_REQUIRE_SLURM") == "1":
        pytest.fail("EMBSPACE_REQUIRE_SLURM=1 but no Slurm controller answers sinfo", pytrace=False)
    pytest.skip("no Slurm controller answers sinfo")


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


#: emotion -> (f0 factor, level factor) of the tiny emotional corpus
EMOTION_SHIFT = {"angry": (1.3, 1.8), "sad": (0.8, 0.4), "happy": (1.5, 1.2)}


def make_tiny_corpus(root: Path, num_speakers: int = 8, utts: int = 6, num_test: int = 3, seed: int = 0,
                     emotions: dict[str, int] | None = None) -> Path:
    """Write wavs and ``metadata.jsonl`` in the layout of the mini corpus; returns the metadata path.

    ``emotions`` (``{"angry": 2, ...}``): each speaker also speaks that many utterances in each emotion
    (pitch and level changed, :data:`EMOTION_SHIFT`); every utterance then has an ``emotion`` field.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for s in range(num_speakers):
        spk = f"spk{s:03d}"
        f0 = rng.uniform(90, 240)
        formants = list(rng.uniform([300, 900, 2000], [900, 2200, 3500]))
        gender = "f" if f0 > 165 else "m"
        split = "test" if s >= num_speakers - num_test else "train"
        styles = [("neutral", u, f"{spk}-u{u:03d}") for u in range(utts)]
        styles += [(e, u, f"{spk}-{e}-u{u:02d}") for e, n in (emotions or {}).items() for u in range(n)]
        for emo, u, utt in styles:
            path = Path("wav") / spk / f"{utt}.wav"
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            factor, level = EMOTION_SHIFT.get(emo, (1.0, 1.0))
            x = synth_voice(rng, f0 * factor, formants, rng.uniform(1.0, 1.6)) * level
            sf.write(root / path, np.clip(x, -0.99, 0.99), 16000, subtype="PCM_16")
            lines.append({"utt": utt, "speaker": spk, "gender": gender, "language": "en", "text": "tone",
                          "path": str(path), "split": split, "session": "s1", "style": emo,
                          **({"emotion": emo} if emotions else {})})
    meta = root / "metadata.jsonl"
    meta.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return meta


def _features(root: Path, meta: Path, corpus: str) -> dict[str, Path]:
    """Manifests + Kaldi dirs -> stored fbank (40 mel) for train and test."""
    run_cli("prepare_manifests", "--metadata", meta, "--corpus", corpus, "--manifest-dir", root / "manifests",
            "--kaldi-dir", root / "data")
    for split in ("train", "test"):
        run_cli("compute_fbank", "--manifest-dir", root / "manifests", "--corpus", corpus, "--split", split,
                "--out-dir", root / "fbank", "--num-mel-bins", "40")
    return {"root": root, "metadata": meta, "manifests": root / "manifests", "data": root / "data",
            "train_cuts": root / "fbank" / f"{corpus}_cuts_train.jsonl.gz",
            "test_cuts": root / "fbank" / f"{corpus}_cuts_test.jsonl.gz"}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Tiny corpus -> manifests + Kaldi dirs -> stored fbank (40 mel) for train and test."""
    root = tmp_path_factory.mktemp("tiny")
    return _features(root, make_tiny_corpus(root / "corpus"), "tiny")


@pytest.fixture(scope="session")
def tiny_emotion_data(tmp_path_factory) -> dict[str, Path]:
    """Tiny emotional corpus (6 speakers, 2 of them test; 4 neutral, 2 angry, 2 sad utterances each)."""
    root = tmp_path_factory.mktemp("tiny_emotion")
    meta = make_tiny_corpus(root / "corpus", num_speakers=6, utts=4, num_test=2, seed=1, emotions={"angry": 2, "sad": 2})
    return _features(root, meta, "emo")
