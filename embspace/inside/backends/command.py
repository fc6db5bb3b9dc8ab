"""The ``command`` backend: any external TTS, driven through a JSONL job list.

Protocol (one job per utterance, one JSON object per line)::

    {"identity": "inside_f_000003", "utt": "inside_f_000003-u000", "text": "...", "language": "en",
     "embedding": "/abs/emb/inside_f_000003.npy", "output": "/abs/out/inside_f_000003/inside_f_000003-u000.wav",
     "seed": 123456}

``embedding`` is a ``.npy`` file holding the identity's conditioning vector (any shape, float32) in
the TTS's own speaker space. The command is called as ``<command...> <jobs.jsonl>`` and must write
every ``output`` as a mono WAV file (16 kHz, or any rate when resampling is allowed) and exit 0.
Recipes split the job list Kaldi-style and run ``$cmd JOB=1:N log/tts.JOB.log <command> jobs.JOB.jsonl``
(:func:`write_jobs`, then :func:`collect`); :class:`CommandBackend` runs the command for one identity
at a time in-process (the :class:`~embspace.inside.backend.TTSBackend` interface).

Outputs are validated: the file exists and is readable audio, mono, non-empty; a rate other than
16 kHz is an error unless resampling was asked for (then it is resampled explicitly with a
windowed-sinc filter). Identities whose outputs are all valid are kept (``records/``) even when
others failed, so a rerun only redoes the failed ones. ``steps/inside/tts_espeak.py`` is a working
example command.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from embspace.data.tables import iter_jsonl
from embspace.inside.backend import OUTPUT_RATE, register_backend
from embspace.inside.identities import Identity
from embspace.inside.synthesis import SynthesisOptions, plan_texts, read_record, save_identity, synthesis_key, utt_id
from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

JOB_FIELDS = ("identity", "utt", "text", "language", "embedding", "output", "seed")


def read_output(path: str | os.PathLike, resample: bool, source: object = None, key: str | None = None) -> np.ndarray:
    """One output of the command as float32 at 16 kHz; missing, unreadable, empty, multi-channel or
    (without ``resample``) wrong-rate audio is a DataError naming the file and the utterance."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DataError(f"the TTS command wrote nothing to {path}", source, key=key)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises RuntimeError/LibsndfileError for bad files
        raise DataError(f"unreadable audio {path}: {e}", source, key=key) from None
    if data.shape[1] != 1:
        raise DataError(f"{path}: expected mono audio, got {data.shape[1]} channels", source, key=key)
    x = data[:, 0]
    if x.size == 0:
        raise DataError(f"{path}: empty audio", source, key=key)
    if rate != OUTPUT_RATE:
        if not resample:
            raise DataError(f"{path}: sampling rate {rate} Hz, expected {OUTPUT_RATE} "
                            "(allow resampling with --resample true)", source, key=key)
        from embspace.corpus.espeak import resample_poly

        g = math.gcd(OUTPUT_RATE, rate)
        x = resample_poly(x, OUTPUT_RATE // g, rate // g)
    return x


def pending(identities: Sequence[Identity], conditioning: np.ndarray, texts: Sequence[str], opts: SynthesisOptions,
            out_dir: str | os.PathLike, space: str) -> list[int]:
    """Indices of the identities that have no finished record in ``out_dir`` made from the same inputs."""
    todo = []
    for n, (ident, cond) in enumerate(zip(identities, conditioning)):
        plan = plan_texts(ident, texts, opts.utts_per_identity, opts.unique_text_per_utt)
        if read_record(out_dir, ident.id, synthesis_key(cond, plan, opts, "command", space)) is None:
            todo.append(n)
    return todo


def write_jobs(identities: Sequence[Identity], conditioning: np.ndarray, texts: Sequence[str],
               opts: SynthesisOptions, work_dir: str | os.PathLike, nj: int = 1) -> list[Path]:
    """Write ``work_dir/emb/<id>.npy`` and ``work_dir/jobs.<n>.jsonl`` (n = 1..nj; identities split in
    contiguous near-equal parts). Returns the job files."""
    from embspace.extract import split_for_job

    work = Path(work_dir).resolve()
    todo = list(zip(identities, conditioning))
    files = []
    for job in range(1, nj + 1):
        lines = []
        for ident, cond in split_for_job(todo, job, nj):
            emb = work / "emb" / f"{ident.id}.npy"
            with atomic_path(emb) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, np.asarray(cond, dtype=np.float32), allow_pickle=False)
            for k, text in enumerate(plan_texts(ident, texts, opts.utts_per_identity, opts.unique_text_per_utt)):
                uid = utt_id(ident.id, k)
                lines.append(json.dumps({"identity": ident.id, "utt": uid, "text": text, "language": opts.language,
                                         "embedding": str(emb), "output": str(work / "out" / ident.id / f"{uid}.wav"),
                                         "seed": (ident.seed + k) & 0x7FFFFFFF}))
        path = work / f"jobs.{job}.jsonl"
        atomic_write_text(path, "".join(line + "\n" for line in lines))
        files.append(path)
    return files


def read_jobs(path: str | os.PathLike) -> list[dict]:
    """A job list; a line that is not a job names the file and line."""
    jobs = []
    for n, job in iter_jsonl(path):
        missing = [f for f in JOB_FIELDS if f not in job]
        if missing:
            raise DataError(f"job lacks {', '.join(missing)}", path, n)
        jobs.append(job)
    return jobs


def collect(identities: Sequence[Identity], conditioning: np.ndarray, job_files: Sequence[str | os.PathLike],
            out_dir: str | os.PathLike, opts: SynthesisOptions, resample: bool = False, space: str = "external") -> dict:
    """Validate the command's outputs and save every identity whose outputs are all good (record in
    ``out_dir``). Identities with a bad or missing output are reported together at the end as a
    DataError (count and the first few, each with its job file); the good ones stay saved."""
    by_id = {i.id: (i, c) for i, c in zip(identities, conditioning)}
    jobs: dict[str, list[tuple[dict, Path]]] = {}
    for jf in job_files:
        for job in read_jobs(jf):
            if job["identity"] not in by_id:
                raise DataError("job for an identity that is not in identities.jsonl", jf, key=job["identity"])
            jobs.setdefault(job["identity"], []).append((job, Path(jf)))
    failures: list[DataError] = []
    saved = 0
    for ident_id in sorted(jobs):
        ident, cond = by_id[ident_id]
        texts = [job["text"] for job, _ in jobs[ident_id]]
        if read_record(out_dir, ident_id, synthesis_key(cond, texts, opts, "command", space)) is not None:
            continue
        try:
            wavs = [read_output(job["output"], resample, jf, job["utt"]) for job, jf in jobs[ident_id]]
            save_identity(out_dir, ident, cond, texts, wavs, opts, "command", space, jobs[ident_id][0][1])
            saved += 1
        except DataError as e:
            failures.append(e)
    if failures:
        first = "; ".join(str(e) for e in failures[:3])
        raise DataError(f"{len(failures)} identit{'y' if len(failures) == 1 else 'ies'} failed ({saved} saved, "
                        f"rerun to retry the failed ones): {first}")
    return {"saved": saved}


def run_command(command: str | Sequence[str], job_file: str | os.PathLike, log: str | os.PathLike | None = None) -> None:
    """Run ``command job_file`` (a string is split like a shell would); non-zero exit is a DataError."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise DataError("empty TTS command", key="tts_command")
    try:
        proc = subprocess.run([*argv, str(job_file)], capture_output=True, text=True)
    except OSError as e:
        raise DataError(f"cannot run the TTS command: {e}", key=argv[0]) from None
    if log is not None:
        Path(log).write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise DataError(f"TTS command exited with {proc.returncode}: {' | '.join(tail)}", job_file)


@register_backend("command")
class CommandBackend:
    """The command protocol behind the :class:`~embspace.inside.backend.TTSBackend` interface: one job
    list per :meth:`synthesize` call, run in a scratch folder."""

    name = "command"

    def __init__(self, command: str | Sequence[str], resample: bool = False, space: str = "external",
                 work_dir: str | os.PathLike | None = None):
        self.command, self.resample, self.space = command, resample, space
        self.work_dir = work_dir
        self._calls = 0

    def synthesize(self, conditioning: np.ndarray, texts: Sequence[str], language: str) -> list[np.ndarray]:
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="tts-") as tmp:
            work = Path(tmp)
            emb = work / "embedding.npy"
            np.save(emb, np.asarray(conditioning, dtype=np.float32), allow_pickle=False)
            self._calls += 1
            ident = f"call{self._calls}"
            jobs = [{"identity": ident, "utt": utt_id(ident, k), "text": t, "language": language, "embedding": str(emb),
                     "output": str(work / "out" / f"{utt_id(ident, k)}.wav"), "seed": k} for k, t in enumerate(texts)]
            job_file = work / "jobs.jsonl"
            job_file.write_text("".join(json.dumps(j) + "\n" for j in jobs), encoding="utf-8")
            run_command(self.command, job_file)
            return [read_output(j["output"], self.resample, job_file, j["utt"]) for j in jobs]
