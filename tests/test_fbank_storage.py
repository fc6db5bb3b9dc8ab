"""Stored features are swapped in whole with their manifest: kills, concurrent writers, bad samples, any cwd."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REPO, run_cli

#: a feature run that SIGKILLs itself at one point of the swap (``where``), with 2 cuts per shard
KILL_SCRIPT = """
import os, signal, sys
import embspace.features.fbank as fb
from embspace.data.manifests import load_cuts
where, manifests, out, bins = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fb.SHARD_SIZE = 2
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if where == "shard":            # in the middle of computing the shards
    real = fb._store_shard
    calls = []
    fb._store_shard = lambda job: die() if calls.append(1) or len(calls) == 3 else real(job)
elif where == "manifest":       # new version renamed in, manifest not yet
    fb.write_manifest = die
elif where == "cleanup":        # manifest renamed, old version not yet removed
    fb._remove_leftovers = lambda d, keep, versions_only: die() if not versions_only else None
fb.compute_and_store(load_cuts(manifests, "tiny", "train"), f"{out}/cuts.jsonl.gz", f"{out}/feats", bins)
"""


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def _compute(tiny_data, out: Path, bins: int, where: str = "none") -> int:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-c", KILL_SCRIPT, where, str(tiny_data["manifests"]), str(out), str(bins)],
                          env=env, capture_output=True).returncode


def _all_readable(manifest: Path) -> int:
    from embspace.features.fbank import load_feature_cuts

    cuts = load_feature_cuts(manifest)
    for c in cuts:
        assert np.isfinite(c.load_features()).all()
    return next(iter(cuts)).num_features


@pytest.mark.parametrize("where", ["shard", "manifest", "cleanup"])
def test_a_killed_rewrite_leaves_a_consistent_pair_and_the_rerun_equals_a_clean_run(tiny_data, tmp_path, where):
    clean, out = tmp_path / "clean", tmp_path / "out"
    assert _compute(tiny_data, clean, 24) == 0
    assert _compute(tiny_data, out, 40) == 0
    assert _compute(tiny_data, out, 24, where) != 0  # killed while replacing 40-bin features by 24-bin ones
    bins = _all_readable(out / "cuts.jsonl.gz")
    assert bins == (24 if where == "cleanup" else 40), "old manifest with old features, or new with new"
    assert _compute(tiny_data, out, 24) == 0
    assert _tree(out) == _tree(clean), "the rerun leaves exactly the outputs of an uninterrupted run"


def test_a_second_writer_of_the_same_features_fails_naming_the_first(tiny_data, tmp_path):
    from embspace.utils.lock import exclusive_lock

    out = tmp_path / "fb"
    with exclusive_lock(out / ".tiny_cuts_train.jsonl.gz.lock", "test"):
        p = run_cli("compute_fbank", "--manifest-dir", tiny_data["manifests"], "--corpus", "tiny", "--split", "train",
                    "--out-dir", out, "--num-mel-bins", "24", check=False)
    assert p.returncode == 1 and f"pid {os.getpid()}" in p.stderr and "Traceback" not in p.stderr
    assert not (out / "tiny_cuts_train.jsonl.gz").exists()


def test_features_are_found_from_any_working_directory(tiny_data, tmp_path):
    manifest = Path(tiny_data["train_cuts"]).resolve()
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert _all_readable(manifest) == 40
    finally:
        os.chdir(here)


def test_nan_samples_are_an_error_naming_the_cut_and_nothing_is_left(tmp_path):
    from lhotse import CutSet, Recording, RecordingSet

    from embspace.features.fbank import compute_and_store
    from embspace.utils.errors import DataError

    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    sf.write(tmp_path / "good.wav", x, 16000, subtype="FLOAT")
    x[100], x[200] = np.nan, np.inf
    sf.write(tmp_path / "bad.wav", x, 16000, subtype="FLOAT")
    recs = RecordingSet.from_recordings(Recording.from_file(tmp_path / f, recording_id=f[:-4]) for f in ("good.wav", "bad.wav"))
    with pytest.raises(DataError, match="cut 'bad.*NaN or infinite"):
        compute_and_store(CutSet.from_manifests(recordings=recs), tmp_path / "o" / "cuts.jsonl.gz", tmp_path / "o" / "feats")
    assert [p.name for p in (tmp_path / "o").iterdir() if not p.name.endswith(".lock")] in ([], ["feats"])
    assert not any((tmp_path / "o" / "feats").glob("*")) if (tmp_path / "o" / "feats").exists() else True
