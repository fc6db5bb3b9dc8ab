"""Same inputs -> same bytes: manifests and stored features do not depend on time, temp names or --nj."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from tests.conftest import run_cli


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def test_manifests_are_byte_identical_when_rewritten(tiny_data, tmp_path):
    out = tmp_path / "m"
    run_cli("prepare_manifests", "--metadata", tiny_data["metadata"], "--corpus", "tiny", "--manifest-dir", out)
    first = _digests(out)
    time.sleep(1.1)  # gzip headers carry whole seconds
    run_cli("prepare_manifests", "--metadata", tiny_data["metadata"], "--corpus", "tiny", "--manifest-dir", out)
    assert _digests(out) == first
    assert first == {k: v for k, v in _digests(tiny_data["manifests"]).items() if k in first}


def test_fbank_output_does_not_depend_on_nj(tiny_data, tmp_path, monkeypatch):
    import embspace.features.fbank as fbank

    monkeypatch.setattr(fbank, "SHARD_SIZE", 5)  # several shards, so that --nj 2 really splits the work
    from embspace.data.manifests import load_cuts

    cuts = load_cuts(tiny_data["manifests"], "tiny", "train")
    for nj in (1, 2):
        fbank.compute_and_store(cuts, tmp_path / f"nj{nj}" / "cuts.jsonl.gz", tmp_path / f"nj{nj}" / "feats", 40, nj)
    a, b = _digests(tmp_path / "nj1"), _digests(tmp_path / "nj2")
    assert len(a) > 3 and a.keys() == b.keys()
    assert all(a[k] == b[k] for k in a if not k.endswith(".jsonl.gz")), "feature files differ"
    # the manifests differ only in the storage folder name
    import gzip
    ta = gzip.decompress((tmp_path / "nj1" / "cuts.jsonl.gz").read_bytes()).decode()
    tb = gzip.decompress((tmp_path / "nj2" / "cuts.jsonl.gz").read_bytes()).decode()
    assert ta.replace("nj1", "nj2") == tb


def test_fbank_over_launcher_jobs_equals_one_process(tiny_data, tmp_path, monkeypatch):
    """prepare -> jobs 1..N (any order) -> finish gives the bytes of compute_and_store; a missing shard
    is an error naming it, and nothing is swapped in."""
    import gzip

    import pytest

    import embspace.features.fbank as fbank
    from embspace.data.manifests import load_cuts
    from embspace.utils.errors import DataError

    monkeypatch.setattr(fbank, "SHARD_SIZE", 5)
    cuts = load_cuts(tiny_data["manifests"], "tiny", "train")
    one, jobs = tmp_path / "one", tmp_path / "jobs"
    fbank.compute_and_store(cuts, one / "cuts.jsonl.gz", one / "feats", 40, 1)
    fbank.prepare_jobs(jobs / "cuts.jsonl.gz", jobs / "feats")
    assert sum(fbank.compute_job(cuts, jobs / "feats", 40, j, 3) for j in (3, 1)) >= 2
    with pytest.raises(DataError, match="shard 1 was not computed"):
        fbank.finish_jobs(cuts, jobs / "cuts.jsonl.gz", jobs / "feats")
    assert not (jobs / "cuts.jsonl.gz").exists()
    fbank.compute_job(cuts, jobs / "feats", 40, 2, 3)
    fbank.finish_jobs(cuts, jobs / "cuts.jsonl.gz", jobs / "feats")
    a, b = _digests(one), _digests(jobs)
    assert len(a) > 3 and a == b, "feature files, version name and manifest must be the same bytes"
    assert gzip.decompress((jobs / "cuts.jsonl.gz").read_bytes()) == gzip.decompress((one / "cuts.jsonl.gz").read_bytes())
    assert not list(tmp_path.glob("jobs/.tmp.*")), "the jobs' folder is removed once the version is in"
