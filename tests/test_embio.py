"""Embedding ark/scp I/O, scp merging and speaker means."""

from __future__ import annotations

import os

import kaldiio
import numpy as np
import pytest

from embspace.embio import merge_scps, read_embeddings, read_vector, speaker_means, write_embeddings
from embspace.utils.errors import DataError


def _items(n: int = 5, dim: int = 4, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(f"utt{i}", rng.standard_normal(dim).astype(np.float32)) for i in range(n)]


def test_write_read_roundtrip_points_at_final_ark(tmp_path):
    items = _items()
    ark, scp = tmp_path / "xvector.ark", tmp_path / "xvector.scp"
    assert write_embeddings(ark, scp, items) == 5
    assert sorted(os.listdir(tmp_path)) == ["xvector.ark", "xvector.scp"]
    for line in scp.read_text().splitlines():
        assert line.split()[1].rsplit(":", 1)[0] == str(ark)
    keys, emb = read_embeddings(scp)
    assert keys == [k for k, _ in items]
    assert emb.dtype == np.float32 and emb.shape == (5, 4)
    np.testing.assert_array_equal(emb, np.stack([v for _, v in items]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.0])
def test_write_refuses_bad_vector_and_keeps_old_files(tmp_path, bad):
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    write_embeddings(ark, scp, _items())
    before = (ark.read_bytes(), scp.read_bytes())
    items = _items(seed=1)
    items[2] = ("uttbad", np.full(4, bad, dtype=np.float32) if bad == 0.0 else np.array([1, bad, 0, 0], np.float32))
    with pytest.raises(DataError, match="uttbad"):
        write_embeddings(ark, scp, items)
    assert (ark.read_bytes(), scp.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["x.ark", "x.scp"]


@pytest.mark.parametrize("bad", ["nan", "zero", "dim"])
def test_read_refuses_bad_vector_naming_file_and_key(tmp_path, bad):
    vec = {"nan": np.array([1, np.nan, 0, 0]), "zero": np.zeros(4), "dim": np.ones(3)}[bad]
    data = {"a": np.ones(4, np.float32), "b": vec.astype(np.float32)}
    kaldiio.save_ark(str(tmp_path / "x.ark"), data, scp=str(tmp_path / "x.scp"))
    with pytest.raises(DataError) as e:
        read_embeddings(tmp_path / "x.scp")
    assert e.value.key == "b" and "x.scp" in str(e.value)


def test_read_missing_ark(tmp_path):
    (tmp_path / "x.scp").write_text(f"a {tmp_path}/none.ark:4\n")
    with pytest.raises(DataError, match="x.scp"):
        read_embeddings(tmp_path / "x.scp")


def test_merge_scps_and_duplicate(tmp_path):
    (tmp_path / "a.scp").write_text("u1 x.1.ark:5\nu2 x.1.ark:30\n")
    (tmp_path / "b.scp").write_text("u3 x.2.ark:5\n")
    out = tmp_path / "xvector.scp"
    assert merge_scps([tmp_path / "a.scp", tmp_path / "b.scp"], out) == 3
    assert out.read_text() == "u1 x.1.ark:5\nu2 x.1.ark:30\nu3 x.2.ark:5\n"
    (tmp_path / "c.scp").write_text("u4 x.3.ark:5\nu2 x.3.ark:30\n")
    with pytest.raises(DataError) as e:
        merge_scps([tmp_path / "a.scp", tmp_path / "c.scp"], out)
    assert e.value.key == "u2" and e.value.line == 2 and "c.scp" in str(e.value)
    assert out.read_text().count("\n") == 3  # untouched


def test_speaker_means(tmp_path):
    items = _items(6)
    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", items)
    spk = {"utt0": "s2", "utt1": "s1", "utt2": "s2", "utt3": "s1", "utt4": "s1", "utt5": "s3"}
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in spk.items()))
    counts = speaker_means(tmp_path / "x.scp", tmp_path / "utt2spk", tmp_path / "spk_xvector.ark",
                           tmp_path / "spk_xvector.scp", tmp_path / "num_utts.ark")
    assert counts == {"s1": 3, "s2": 2, "s3": 1}
    assert (tmp_path / "num_utts.ark").read_text() == "s1 3\ns2 2\ns3 1\n"
    keys, means = read_embeddings(tmp_path / "spk_xvector.scp")
    assert keys == ["s1", "s2", "s3"]
    v = dict(items)
    np.testing.assert_allclose(means[0], (v["utt1"] + v["utt3"] + v["utt4"]) / 3, rtol=1e-6)
    np.testing.assert_allclose(means[2], v["utt5"], rtol=1e-6)


def test_speaker_means_missing_utt(tmp_path):
    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", _items(3))
    (tmp_path / "utt2spk").write_text("utt0 s1\nutt2 s1\n")
    with pytest.raises(DataError) as e:
        speaker_means(tmp_path / "x.scp", tmp_path / "utt2spk", tmp_path / "s.ark", tmp_path / "s.scp",
                      tmp_path / "n.ark")
    assert e.value.key == "utt1" and "utt2spk" in str(e.value)
    assert not (tmp_path / "s.scp").exists()


def test_read_vector_kaldi_and_text(tmp_path):
    kaldiio.save_mat(str(tmp_path / "mean.vec"), np.array([1, 2, 3], np.float32))
    np.testing.assert_array_equal(read_vector(tmp_path / "mean.vec"), [1, 2, 3])
    (tmp_path / "t.vec").write_text(" [ 1.5 2 3 ]\n")
    np.testing.assert_array_equal(read_vector(tmp_path / "t.vec"), [1.5, 2, 3])
