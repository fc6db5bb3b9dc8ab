"""Log-mel filterbank features through lhotse, stored once or computed on the fly.

Stored features (the default) are computed once per corpus and read by every training epoch:
on a CPU box that is far cheaper than recomputing them. On-the-fly computation is used when
augmentation changes the waveform (noise, reverb), since then every epoch sees new audio.

Layout of stored features, for ``compute_and_store(cuts, out/mini_cuts_train.jsonl.gz, out/mini_feats_train)``::

    out/mini_cuts_train.jsonl.gz            the cut manifest; feature paths relative to ``out/``
    out/mini_feats_train/v-<sha>/feats-0000.lca ...   one version, named by the digest of its files

A new version is computed beside the old one under a temporary name, renamed into
``mini_feats_train/`` when whole, then the manifest is renamed over the old one, and only then are
older versions removed. A run killed anywhere leaves the old manifest with its own features, or the
new manifest with its own; the next run removes what is left over (temporary folders only once
their writer's process is gone). A second writer of the same
output fails at once (a lock file names the first).

The same work split over launcher jobs (``$cmd JOB=1:N``, steps/compute_fbank.sh): :func:`prepare_jobs`
makes an empty shared folder ``.tmp.<feats>.jobs`` beside the storage folder, each job computes its
shards (:func:`compute_job`: shards k with k mod N = job - 1) into ``feats/`` and their cuts into
``cuts/``, and :func:`finish_jobs` checks every shard, names the version and swaps in the manifest as
above. The shards are the same fixed :data:`SHARD_SIZE` pieces, so the bytes do not depend on N.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
from lhotse import CutSet, Fbank, FbankConfig, LilcomChunkyWriter
from lhotse.cut import Cut
from lhotse.utils import fastcopy

from embspace.data.manifests import write_manifest
from embspace.data.pipes import load_audio, with_pipes_run
from embspace.utils.atomic import clean_leftovers, make_tmp_dir
from embspace.utils.errors import DataError
from embspace.utils.lock import LockBusy, exclusive_lock

#: cuts per feature file; fixed so that the stored layout (and the cut manifest) does not depend on ``num_jobs``
SHARD_SIZE = 500
#: prefix of a feature version folder below a storage folder
VERSION_PREFIX = "v-"


def make_extractor(num_mel_bins: int = 80, dither: float = 0.0) -> Fbank:
    """Kaldi-like fbank: 25 ms / 10 ms frames at 16 kHz, ``num_mel_bins`` filters."""
    return Fbank(FbankConfig(num_filters=num_mel_bins, dither=dither))


def _bad_audio(cuts: list[Cut]) -> str | None:
    """The first cut whose audio cannot be read or holds NaN/inf samples, described for an error."""
    for cut in cuts:
        try:
            audio = load_audio(cut)
        except Exception as e:  # lhotse raises many types for unreadable audio
            return f"cut '{cut.id}' (recording '{cut.recording_id}'): audio cannot be read: {e}"
        if not np.isfinite(audio).all():
            return f"cut '{cut.id}' (recording '{cut.recording_id}'): audio holds NaN or infinite samples"
    return None


def _store_shard(job: tuple[list[Cut], str, int]) -> list[Cut]:
    """Fbank of one shard of cuts into one lilcom file (runs in a worker process)."""
    import torch

    torch.set_num_threads(1)
    cuts, storage_path, num_mel_bins = job
    # wav.scp pipes run by embspace's runner (stdin closed, time limit, the failing command's stderr),
    # their audio held in memory for the shard; the manifest keeps the original recordings
    recordings = {c.id: c.recording for c in cuts}
    try:
        stored = CutSet.from_cuts(with_pipes_run(c) for c in cuts).compute_and_store_features(
            extractor=make_extractor(num_mel_bins), storage_path=storage_path, num_jobs=1,
            storage_type=LilcomChunkyWriter)
    except DataError:
        raise
    except Exception as e:
        raise DataError(_bad_audio(cuts) or f"feature extraction failed: {type(e).__name__}: {e}") from None
    return [fastcopy(c, recording=recordings[c.id]) for c in stored]


def _digest_files(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def _remove_leftovers(storage_dir: Path, keep: str | None, versions_only: bool) -> None:
    """Remove temporary folders of killed runs (:func:`~embspace.utils.atomic.clean_leftovers`: those
    whose writer's process is gone), the launcher jobs' shared folder, and every version but ``keep``
    (the caller holds the lock); with ``versions_only`` plain files (the flat layout of older
    manifests) stay."""
    clean_leftovers(storage_dir)
    shutil.rmtree(jobs_dir(storage_dir), ignore_errors=True)  # no writer id: over once the lock is ours
    if storage_dir.is_dir():
        for entry in storage_dir.iterdir():
            if entry.name == keep or (versions_only and not entry.name.startswith(VERSION_PREFIX)):
                continue
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _relocate(cut: Cut, new_path: str) -> Cut:
    return fastcopy(cut, features=fastcopy(cut.features, storage_path=new_path))


def compute_and_store(cuts: CutSet, out_cuts: str | os.PathLike, storage_dir: str | os.PathLike,
                      num_mel_bins: int = 80, num_jobs: int = 1) -> CutSet:
    """Compute fbank for every cut into a new version below ``storage_dir`` and swap in the manifest.

    Cuts go in fixed shards of :data:`SHARD_SIZE` (``feats-<k>.lca``), computed by ``num_jobs``
    worker processes, so the features, their files and the manifest are the same bytes for any
    ``num_jobs``. See the module docstring for the layout and why a kill leaves a consistent pair.
    The manifest stores feature paths relative to its own folder; the cuts returned hold them
    joined to that folder (usable from the current directory).
    """
    out_cuts, storage_dir = Path(out_cuts), Path(storage_dir)
    try:
        with exclusive_lock(out_cuts.parent / f".{out_cuts.name}.lock", f"{out_cuts}"):
            return _compute_locked(cuts, out_cuts, storage_dir, num_mel_bins, num_jobs)
    except LockBusy as e:
        raise DataError(str(e)) from None


def _shard_jobs(cuts: CutSet, folder: Path, num_mel_bins: int) -> list[tuple[list[Cut], str, int]]:
    """The fixed shards of ``cuts`` (in order), each with its feature file below ``folder``."""
    ordered = list(cuts)
    return [(ordered[i:i + SHARD_SIZE], str(folder / f"feats-{i // SHARD_SIZE:04d}"), num_mel_bins)
            for i in range(0, len(ordered), SHARD_SIZE)]


def _compute_locked(cuts: CutSet, out_cuts: Path, storage_dir: Path, num_mel_bins: int, num_jobs: int) -> CutSet:
    _remove_leftovers(storage_dir, keep=_current_version(out_cuts), versions_only=True)
    tmp = make_tmp_dir(storage_dir)
    try:
        jobs = _shard_jobs(cuts, tmp, num_mel_bins)
        if num_jobs > 1 and len(jobs) > 1:
            with mp.get_context("fork").Pool(min(num_jobs, len(jobs))) as pool:
                shards = pool.map(_store_shard, jobs, chunksize=1)
        else:
            shards = [_store_shard(job) for job in jobs]
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _install(tmp, shards, out_cuts, storage_dir)


def _install(tmp: Path, shards: list[list[Cut]], out_cuts: Path, storage_dir: Path) -> CutSet:
    """Rename the feature files of ``tmp`` into their version folder, write the manifest, clean up."""
    try:
        version = VERSION_PREFIX + _digest_files(tmp)
        final = storage_dir / version
        storage_dir.mkdir(parents=True, exist_ok=True)
        if final.is_dir():  # the same features already stored (a rerun): keep the old copy
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    rel = os.path.relpath(final, out_cuts.parent)
    with_feats = CutSet.from_cuts(_relocate(c, f"{rel}/{Path(c.features.storage_path).name}")
                                  for shard in shards for c in shard)
    write_manifest(with_feats, out_cuts)
    _remove_leftovers(storage_dir, keep=version, versions_only=False)
    return resolve_feature_paths(with_feats, out_cuts.parent).to_eager()


def jobs_dir(storage_dir: str | os.PathLike) -> Path:
    """The folder the launcher jobs of one feature computation share (a leftover once it is over)."""
    storage_dir = Path(storage_dir)
    return storage_dir.parent / f".tmp.{storage_dir.name}.jobs"


def _locked(out_cuts: Path, fn, *args):
    try:
        with exclusive_lock(out_cuts.parent / f".{out_cuts.name}.lock", f"{out_cuts}"):
            return fn(*args)
    except LockBusy as e:
        raise DataError(str(e)) from None


def prepare_jobs(out_cuts: str | os.PathLike, storage_dir: str | os.PathLike) -> Path:
    """Remove leftovers of killed runs (the current version stays) and make the jobs' empty shared folder."""
    out_cuts, storage_dir = Path(out_cuts), Path(storage_dir)

    def prepare() -> Path:
        _remove_leftovers(storage_dir, keep=_current_version(out_cuts), versions_only=True)
        work = jobs_dir(storage_dir)
        for sub in ("feats", "cuts"):
            (work / sub).mkdir(parents=True)
        return work

    return _locked(out_cuts, prepare)


def compute_job(cuts: CutSet, storage_dir: str | os.PathLike, num_mel_bins: int, job: int, nj: int) -> int:
    """Compute the shards of job ``job`` of ``nj`` into the shared folder; returns how many."""
    if not 1 <= job <= nj:
        raise DataError(f"--job must be in 1..{nj}, got {job}")
    work = jobs_dir(storage_dir)
    if not (work / "feats").is_dir():
        raise DataError("the jobs' folder is missing (run the prepare step first)", work)
    mine = [(k, j) for k, j in enumerate(_shard_jobs(cuts, work / "feats", num_mel_bins)) if k % nj == job - 1]
    for k, shard in mine:
        write_manifest(CutSet.from_cuts(_store_shard(shard)), work / "cuts" / f"cuts-{k:04d}.jsonl.gz")
    return len(mine)


def finish_jobs(cuts: CutSet, out_cuts: str | os.PathLike, storage_dir: str | os.PathLike) -> CutSet:
    """Check that every shard of ``cuts`` was computed, then name the version and swap in the manifest."""
    out_cuts, storage_dir = Path(out_cuts), Path(storage_dir)
    work = jobs_dir(storage_dir)

    def finish() -> CutSet:
        shards = []
        for k, (expected, path, _) in enumerate(_shard_jobs(cuts, work / "feats", 0)):
            part = work / "cuts" / f"cuts-{k:04d}.jsonl.gz"
            if not part.is_file() or not Path(path + ".lca").is_file():
                raise DataError(f"shard {k} was not computed (a job failed or was killed; rerun the step)", part)
            got = list(CutSet.from_file(part))
            if [c.id for c in got] != [c.id for c in expected]:
                raise DataError(f"shard {k} holds other cuts than the manifest (a stale job?); rerun the step", part)
            shards.append(got)
        shutil.rmtree(work / "cuts")
        return _install(work / "feats", shards, out_cuts, storage_dir)

    return _locked(out_cuts, finish)


def _current_version(out_cuts: Path) -> str | None:
    """The version folder the existing manifest points to (kept while a new one is computed)."""
    if not out_cuts.is_file():
        return None
    try:
        first = next(iter(CutSet.from_file(out_cuts)), None)
    except Exception:
        return None
    if first is None or first.features is None:
        return None
    parts = Path(first.features.storage_path).parts
    return next((p for p in parts if p.startswith(VERSION_PREFIX)), None)


def resolve_feature_paths(cuts: CutSet, base: str | os.PathLike) -> CutSet:
    """Cuts whose relative feature paths are taken from ``base`` (the manifest's folder).

    Manifests written before paths were stored relative to their folder hold paths relative to the
    recipe folder; such a path is kept when it does not exist below ``base``.
    """
    base = str(base)
    seen: dict[str, str] = {}

    def fix(cut: Cut) -> Cut:
        feats = getattr(cut, "features", None)
        if feats is None or os.path.isabs(feats.storage_path):
            return cut
        path = feats.storage_path
        if path not in seen:
            cand = os.path.join(base, path)
            seen[path] = cand if os.path.exists(cand) else path
        return _relocate(cut, seen[path])

    return CutSet.from_cuts(fix(c) for c in cuts)


def load_feature_cuts(path: str | os.PathLike) -> CutSet:
    """A cut manifest with stored features, usable from any working directory (eager)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("cut manifest not found (run the feature stage first)", path)
    return resolve_feature_paths(CutSet.from_file(path).to_eager(), path.parent).to_eager()


def write_feature_cuts(cuts: CutSet, path: str | os.PathLike) -> None:
    """Write a cut manifest with feature paths relative to its own folder (atomic, deterministic)."""
    base = os.path.abspath(Path(path).parent)

    def rel(cut: Cut) -> Cut:
        feats = getattr(cut, "features", None)
        if feats is None:
            return cut
        return _relocate(cut, os.path.relpath(os.path.abspath(feats.storage_path), base))

    write_manifest(CutSet.from_cuts(rel(c) for c in cuts), path)


def features_of(cut: Cut, extractor: Fbank) -> np.ndarray:
    """Features of ``cut`` computed now from its audio (used with on-the-fly augmentation)."""
    audio = load_audio(cut)
    return extractor.extract(audio, cut.sampling_rate)
