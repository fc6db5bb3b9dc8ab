"""Folders are swapped in whole: embeddings built under a temporary name replace the old ones as one unit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from embspace.embio import read_embeddings, write_embeddings
from embspace.utils.atomic import swap_in_dir
from tests.conftest import REPO, run_cli


def _emb_dir(d: Path, value: float, nj: int = 2) -> None:
    d.mkdir(parents=True)
    for j in range(1, nj + 1):
        write_embeddings(d / f"xvector.{j}.ark", d / f"xvector.{j}.scp",
                         [(f"u{j}{i}", np.full(4, value, np.float32)) for i in range(3)])


def test_swap_replaces_a_folder_whole_and_leaves_nothing_behind(tmp_path):
    final, new = tmp_path / "emb", tmp_path / ".tmp.emb.1"
    final.mkdir()
    (final / "old-only").write_text("old")
    new.mkdir()
    (new / "x").write_text("new")
    inode = os.stat(new).st_ino
    swap_in_dir(new, final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb"]
    assert (final / "x").read_text() == "new" and not (final / "old-only").exists()
    assert os.stat(final).st_ino == inode, "the new folder itself is renamed in, not copied"


def test_merge_with_final_dir_points_every_scp_into_the_final_folder(tmp_path):
    final = tmp_path / "exp" / "embeddings" / "test"
    _emb_dir(final, 1.0)
    run_cli("merge_embeddings", "--dir", final, "--nj", 2)
    tmp = tmp_path / "exp" / "embeddings" / ".tmp.test.99"
    _emb_dir(tmp, 2.0)
    utt2spk = tmp_path / "utt2spk"
    utt2spk.write_text("".join(f"u{j}{i} s{j}\n" for j in (1, 2) for i in range(3)))
    run_cli("merge_embeddings", "--dir", tmp, "--nj", 2, "--utt2spk", utt2spk, "--final-dir", final)
    assert not tmp.exists()
    for scp in ("xvector.scp", "spk_xvector.scp"):
        assert all(str(tmp) not in line for line in (final / scp).read_text().splitlines())
        _, emb = read_embeddings(final / scp)
        assert np.all(emb == 2.0), f"{scp} reads the new vectors from the final folder"


@pytest.fixture
def writers():
    """The pid of a finished process and of a running one (stopped at the end)."""
    done = subprocess.Popen(["true"])
    done.wait()
    live = subprocess.Popen(["sleep", "60"])
    yield done.pid, live.pid
    live.kill()
    live.wait()


def _leftovers(parent: Path, name: str, dead: int, live: int) -> tuple[Path, Path]:
    """Temporary folders of ``name`` by a finished and by a running writer (``.tmp.<name>.<pid>.<hex>``)."""
    gone, kept = parent / f".tmp.{name}.{dead}.ab12", parent / f".tmp.{name}.{live}.cd34"
    for d in (gone, kept):
        (d / "sub").mkdir(parents=True)
    return gone, kept


def test_extraction_step_removes_dead_writers_leftovers_and_keeps_a_running_ones(tmp_path, writers):
    """steps/extract_embeddings.sh cleans before it starts; a launcher that fails at once stops it there."""
    dead, live = writers
    gone, kept = _leftovers(tmp_path, "emb", dead, live)
    (tmp_path / f".tmp.emb.{dead}").mkdir()  # the step's own naming, .tmp.<dir>.<shell pid>
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(["bash", str(REPO / "steps" / "extract_embeddings.sh"), "--cmd", "false", "m.pt", "c.jsonl.gz",
                        "-", str(tmp_path / "emb")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert not gone.exists() and not (tmp_path / f".tmp.emb.{dead}").exists()
    assert kept.is_dir(), "a running writer's folder stays"


def test_feature_leftovers_keep_a_running_writers_folder(tmp_path, writers):
    """Feature storage: killed runs' folders and the jobs' shared folder go, a running writer's stays."""
    import embspace.features.fbank as fb

    dead, live = writers
    gone, kept = _leftovers(tmp_path, "feats", dead, live)
    fb.jobs_dir(tmp_path / "feats").mkdir()
    fb._remove_leftovers(tmp_path / "feats", keep=None, versions_only=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name]


def test_clean_leftovers_cli(tmp_path, writers):
    dead, live = writers
    gone, kept = _leftovers(tmp_path, "out.txt", dead, live)
    (tmp_path / f".tmp{dead}.out.txt").write_text("x")  # atomic_path's naming, .tmp<pid>.<name>
    (tmp_path / ".tmp.other.1.ab").mkdir()
    p = run_cli("clean_leftovers", tmp_path / "out.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.name, ".tmp.other.1.ab"])
    assert f"removed {gone}" in p.stderr
