"""Writing a rendered corpus: resumable per-utterance wavs, a recorded design, JSONL tables.

Shared by ``embspace.bin.make_mini_corpus`` and the corpus extensions of method blocks
(``embspace.bin.seed_make_corpus``). Each wav is written atomically and skipped when present, so
a killed run resumes; ``config.json`` refuses a second design in the same folder.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from embspace.utils.atomic import atomic_path, atomic_write_text
from embspace.utils.errors import DataError

#: a render job: (corpus folder, wav path relative to it, render function, its arguments)
RenderJob = tuple[str, str, Callable[..., np.ndarray], tuple]


def render_job(job: RenderJob) -> tuple[str, float, bool]:
    """Render one wav unless it exists; return ``(relative path, duration, skipped)``."""
    import soundfile as sf

    out_dir, rel_path, fn, fn_args = job
    path = Path(out_dir) / rel_path
    if path.is_file():
        info = sf.info(str(path))
        return rel_path, info.frames / info.samplerate, True
    audio = fn(*fn_args)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, 16000, subtype="PCM_16", format="WAV")
    return rel_path, len(audio) / 16000, False


def render_all(jobs: Sequence[RenderJob], nj: int, desc: str) -> tuple[dict[str, float], int]:
    """Run the jobs (``nj`` worker processes); ``({relative path: duration}, number skipped)``."""
    from tqdm import tqdm

    durations: dict[str, float] = {}
    skipped = 0
    with tqdm(total=len(jobs), desc=desc, unit="utt", mininterval=1.0) as bar:
        pool = mp.get_context().Pool(nj) if nj > 1 else None
        results = pool.imap_unordered(render_job, jobs, chunksize=8) if pool else map(render_job, jobs)
        try:
            for rel, dur, was_skipped in results:
                durations[rel] = dur
                skipped += was_skipped
                bar.update()
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    return durations, skipped


def check_design(out_dir: Path, want: dict[str, Any]) -> None:
    """Refuse to mix two designs in one folder; record the design (``config.json``) otherwise."""
    path = out_dir / "config.json"
    if path.is_file():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise DataError(f"unreadable ({e})", path) from None
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        if diff:
            raise DataError(f"folder made with another design (differs in {', '.join(diff)}); "
                            "use a new --out-dir or delete it", path)
        return
    atomic_write_text(path, json.dumps(want, indent=1) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """One JSON object per line, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
