"""wav.scp pipes run with stdin from /dev/null, pipefail, a time limit and their stderr in the error;
exported data dirs name FLAC files themselves (no sox needed to read them back)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import AudioSource, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.cut import MonoCut

from embspace.data.audio_check import AudioProblem, probe_audio
from embspace.data.kaldi_dir import export_data_dir, import_data_dir
from embspace.data.pipes import load_audio
from embspace.utils.errors import DataError

from conftest import REPO


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    path = tmp_path / "a.wav"
    sf.write(path, (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32), 16000, subtype="PCM_16")
    return path


def test_a_pipe_reading_stdin_does_not_wait_for_it() -> None:
    """The caller's stdin stays open (a terminal): a pipe that reads it must not hang."""
    code = "from embspace.data.audio_check import probe_audio, AudioProblem\n" \
           "try:\n    probe_audio('cat', True)\nexcept AudioProblem as e:\n    print(e)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        proc.wait(timeout=30)  # not communicate(): that would close the child's stdin
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the pipe waited for stdin")
    finally:
        proc.stdin.close()
    assert "wrote no audio" in proc.stdout.read()


def test_the_failing_part_of_a_pipe_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wav"
    with pytest.raises(AudioProblem, match=rf"exit code 1: cat: {missing}: No such file or directory"):
        probe_audio(f"cat {missing} | cat", True)


def test_a_pipe_that_hangs_is_stopped(monkeypatch, wav: Path) -> None:
    monkeypatch.setenv("EMBSPACE_PIPE_TIMEOUT", "1")
    start = time.monotonic()
    with pytest.raises(AudioProblem, match="did not finish within 1 s"):
        probe_audio(f"sleep 30; cat {wav}", True)
    assert time.monotonic() - start < 10


def _pipe_cut(command: str) -> MonoCut:
    rec = Recording(id="r", sources=[AudioSource(type="command", channels=[0], source=command)],
                    sampling_rate=16000, num_samples=8000, duration=0.5)
    return MonoCut(id="r", start=0, duration=0.5, channel=0, recording=rec)


def test_cut_audio_from_a_pipe(tmp_path: Path, wav: Path) -> None:
    assert np.array_equal(load_audio(_pipe_cut(f"cat {wav} | cat")), sf.read(wav, dtype="float32", always_2d=True)[0].T)
    with pytest.raises(DataError, match=r"key 'r'.*exit code 1: cat: .*missing.wav: No such file"):
        load_audio(_pipe_cut(f"cat {tmp_path / 'missing.wav'} | cat"))


def test_exported_flac_is_read_back_without_sox(tmp_path: Path, wav: Path) -> None:
    flac = tmp_path / "a.flac"
    sf.write(flac, sf.read(wav)[0], 16000, format="FLAC")
    rec = Recording.from_file(flac, recording_id="u1")
    sups = SupervisionSet.from_segments([SupervisionSegment(id="u1", recording_id="u1", start=0, duration=rec.duration,
                                                            speaker="s1")])
    export_data_dir(RecordingSet.from_recordings([rec]), sups, tmp_path / "d")
    assert (tmp_path / "d" / "wav.scp").read_text() == f"u1 {flac}\n"
    recs, _ = import_data_dir(tmp_path / "d", num_jobs=1)
    assert recs["u1"].num_samples == rec.num_samples
    export_data_dir(RecordingSet.from_recordings([rec]), sups, tmp_path / "k", kaldi_pipes=True)
    assert (tmp_path / "k" / "wav.scp").read_text() == f"u1 sox {flac} -t wav - |\n"
