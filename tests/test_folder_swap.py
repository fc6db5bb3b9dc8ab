"""Folders are swapped in whole: embeddings built under a temporary name replace the old ones as one unit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from embspace.embio import read_embeddings, write_embeddings
from embspace.utils.atomic import swap_in_dir
from tests.conftest import run_cli


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
