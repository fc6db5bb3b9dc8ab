"""Audio-check benchmark: the shared scanner (embspace/data/audio_check.py) on many small files and on the
mini corpus, 1 process vs all CPUs, against the previous per-file check (libsndfile header only).

Run: ``python bench/audio_scan.py [--num-files 20000] [--mini-corpus egs/mini/v1/data/corpus]`` (about
a minute on 2 cores). The generated files are 0.25 s 16-bit WAVs written just before the scan, so they
sit in the page cache: this measures the checks, not a cold disk or a network file system. Figures for
N files other than ``--num-files`` are extrapolated linearly and printed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.data.audio_check import AudioItem, AudioPolicy, default_num_jobs, probe_all  # noqa: E402
from embspace.utils.machine import describe_machine  # noqa: E402


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _timed(fn, *args):
    wall, cpu = time.perf_counter(), _cpu()
    out = fn(*args)
    return out, time.perf_counter() - wall, _cpu() - cpu


def _old_check(items: list[AudioItem]) -> int:
    """What the importers did before: libsndfile's header (rate, frames) per file, serially."""
    n = 0
    for it in items:
        info = sf.info(it.source)
        n += info.frames > 0 and info.samplerate == 16000
    return n


def _generate(root: Path, n: int, subtype: str = "PCM_16") -> list[AudioItem]:
    """``n`` distinct small WAV files (one encoded payload, written ``n`` times under 100 folders)."""
    root.mkdir(parents=True, exist_ok=True)
    src = root / "src.wav"
    sf.write(src, (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32), 16000, subtype=subtype)
    payload = src.read_bytes()
    items = []
    for i in range(n):
        d = root / f"spk{i % 100:03d}"
        if i < 100:
            d.mkdir()
        path = d / f"utt{i:06d}.wav"
        path.write_bytes(payload)
        items.append(AudioItem(f"utt{i:06d}", str(path)))
    return items


def _row(label: str, n: int, wall: float, cpu: float) -> str:
    return f"| {label} | {n} | {wall:.2f} s | {cpu:.2f} s | {n / wall:,.0f} |"


def _bench(items: list[AudioItem], label: str, jobs: list[int]) -> dict[str, float]:
    print(f"\n{label}: {len(items)} files\n")
    print("| check | files | wall | CPU (user+sys) | files/s (wall) |\n|---|---:|---:|---:|---:|")
    _, wall, cpu = _timed(_old_check, items)
    print(_row("previous check: libsndfile header, 1 process", len(items), wall, cpu))
    rates = {}
    for nj in jobs:
        (good, bad), wall, cpu = _timed(probe_all, items, AudioPolicy(), nj)
        assert not bad, bad[:3]
        print(_row(f"scanner (open, size, WAV data chunk, header, rate, channels, NaN/inf of float samples), "
                   f"{nj} process(es)", len(items), wall, cpu))
        rates[f"nj{nj}"] = len(items) / wall
    return rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-files", type=int, default=20000, help="small generated WAVs to scan (default: %(default)s)")
    p.add_argument("--subtypes", nargs="+", default=["PCM_16", "FLOAT"],
                   help="sample formats of the generated files (FLOAT files are read whole for NaN/inf; "
                        "default: %(default)s)")
    p.add_argument("--extrapolate-to", type=int, default=100000, help="also print the time for this many files")
    p.add_argument("--mini-corpus", default=str(Path(__file__).resolve().parents[1] / "egs/mini/v1/data/corpus"),
                   help="the mini corpus (metadata.jsonl + wav/); skipped when absent")
    args = p.parse_args()
    print(describe_machine())
    jobs = sorted({1, default_num_jobs()})
    root = Path(tempfile.mkdtemp(prefix="audio_scan."))
    try:
        for subtype in args.subtypes:
            t = time.perf_counter()
            items = _generate(root / subtype, args.num_files, subtype)
            print(f"generated {len(items)} {subtype} files in {time.perf_counter() - t:.1f} s under {root}")
            rates = _bench(items, f"generated 0.25 s {subtype} WAVs", jobs)
            for key, rate in rates.items() if args.extrapolate_to != args.num_files else ():
                print(f"extrapolated, not measured: {args.extrapolate_to:,} such files with {key}: "
                      f"{args.extrapolate_to / rate:.0f} s")
            shutil.rmtree(root / subtype, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    meta = Path(args.mini_corpus) / "metadata.jsonl"
    if meta.is_file():
        entries = [json.loads(x) for x in meta.read_text().splitlines() if x.strip()]
        items = [AudioItem(e["utt"], str(meta.parent / e["path"])) for e in entries]
        _bench(items, f"mini corpus {args.mini_corpus}", jobs)
    else:
        print(f"\nmini corpus not found at {args.mini_corpus} (run egs/mini/v1/run.sh --stop-stage 0); skipped")
    print(f"\nload average after the runs: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
