"""One way of reading Kaldi text tables everywhere: byte-order marks and CRLF line ends, encoding errors,
duplicate trials, truncated arks, and errors that name the file at fault."""

from __future__ import annotations

import numpy as np
import pytest

from embspace.bin import compute_metrics as metrics_cli
from embspace.bin import score as score_cli
from embspace.data.tables import read_table, read_trials
from embspace.embio import read_embeddings, write_embeddings
from embspace.scoring.metrics import read_scores
from embspace.utils.errors import DataError
from tests.test_kaldi_utils import run_script

BOM = "\ufeff"


def _windows(text: str) -> bytes:
    """``text`` as a Windows editor may save it: a byte-order mark and CRLF line ends."""
    return (BOM + text.replace("\n", "\r\n")).encode("utf-8")


def test_filter_scp_keeps_the_first_entry_of_a_file_with_bom(tmp_path):
    (tmp_path / "ids").write_bytes(_windows("u1\nu3\n"))
    (tmp_path / "wav.scp").write_bytes(_windows("u1 /a/u1.wav\nu2 /a/u2.wav\nu3 /a/u3.wav\n"))
    proc = run_script("filter_scp.py", tmp_path / "ids", tmp_path / "wav.scp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "u1 /a/u1.wav\nu3 /a/u3.wav\n"
    stdin = run_script("filter_scp.py", "--exclude", tmp_path / "ids", stdin=_windows("u1 x\nu2 y\n").decode())
    assert stdin.returncode == 0 and stdin.stdout == "u2 y\n"


def test_utt2spk_to_spk2utt_drops_bom_and_cr(tmp_path):
    (tmp_path / "utt2spk").write_bytes(_windows("a-1 a\na-2 a\nb-1 b\n"))
    proc = run_script("utt2spk_to_spk2utt.py", tmp_path / "utt2spk")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a a-1 a-2\nb b-1\n"


def test_tables_with_bom_and_crlf_read_like_clean_ones(tmp_path):
    text = "u1 hello world\nu2 x\n"
    (tmp_path / "clean").write_text(text)
    (tmp_path / "win").write_bytes(_windows(text))
    assert read_table(tmp_path / "win", rest_as_string=True) == read_table(tmp_path / "clean", rest_as_string=True)
    assert read_table(tmp_path / "win", rest_as_string=True)["u2"] == "x"


def test_encoding_error_names_its_line_and_offset(tmp_path):
    lines = [f"utt{i} word{i}\n".encode() for i in range(1, 7)] + [b"utt7 caf\xe9\n", b"utt8 ok\n"]
    (tmp_path / "text").write_bytes(b"".join(lines))
    offset = sum(map(len, lines[:6])) + len(b"utt7 caf")
    with pytest.raises(DataError, match=rf"text:7: not UTF-8 text .*byte 0xe9 at column 9, offset {offset} of the file"):
        read_table(tmp_path / "text", min_fields=1)
    proc = run_script("utt2spk_to_spk2utt.py", tmp_path / "text")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and f"{tmp_path / 'text'}:7: not UTF-8" in proc.stderr


def _scp(tmp_path, n: int = 3, dim: int = 4):
    rng = np.random.default_rng(0)
    items = [(f"u{i}", rng.standard_normal(dim).astype(np.float32) + 1) for i in range(1, n + 1)]
    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", items)
    return items


def test_score_reads_an_embedding_scp_with_bom(tmp_path):
    _scp(tmp_path)
    (tmp_path / "trials").write_text("u1 u2 target\nu1 u3 nontarget\n")
    (tmp_path / "win.scp").write_bytes(_windows((tmp_path / "x.scp").read_text()))
    for scp in ("x.scp", "win.scp"):
        assert score_cli.main(["--trials", str(tmp_path / "trials"), "--test-scp", str(tmp_path / scp),
                               "--output", str(tmp_path / f"{scp}.score")]) == 0
    assert (tmp_path / "win.scp.score").read_text() == (tmp_path / "x.scp.score").read_text()


def test_missing_trial_key_names_the_embedding_scp(tmp_path, capsys):
    _scp(tmp_path)
    (tmp_path / "enroll.scp").write_text((tmp_path / "x.scp").read_text().replace("u1 ", "spk1 "))
    (tmp_path / "trials").write_text("u2 u3 target\nu1 u3 nontarget\n")
    with pytest.raises(SystemExit) as e:
        score_cli.main(["--trials", str(tmp_path / "trials"), "--test-scp", str(tmp_path / "x.scp"), "--enroll-scp",
                        str(tmp_path / "enroll.scp"), "--output", str(tmp_path / "scores")])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'trials'}:2: key 'u1': enrollment key not found in {tmp_path / 'enroll.scp'}" in err


def test_duplicate_trial_is_an_error_naming_both_lines(tmp_path, capsys):
    (tmp_path / "trials").write_text("u1 u2 target\nu1 u3 nontarget\nu1 u2 target\n")
    with pytest.raises(DataError, match=r"trials:3: duplicate trial 'u1 u2' \(first on line 1\)"):
        read_trials(tmp_path / "trials")
    (tmp_path / "scores").write_text("u1 u2 0.9 target\nu1 u3 0.1 nontarget\nu2 u3 0.2 nontarget\nu1 u2 0.9 target\n")
    with pytest.raises(SystemExit) as e:
        metrics_cli.main(["--scores", str(tmp_path / "scores")])
    assert e.value.code == 1
    assert "scores:4: duplicate trial 'u1 u2' (first on line 1)" in capsys.readouterr().err


def test_score_file_with_bom_crlf_reads_like_a_clean_one(tmp_path):
    text = "u1 u2 0.9 target\nu1 u3 0.1 nontarget\n"
    (tmp_path / "clean").write_text(text)
    (tmp_path / "win").write_bytes(_windows(text))
    for got, want in zip(read_scores(tmp_path / "win"), read_scores(tmp_path / "clean")):
        assert np.array_equal(got, want)


def test_score_file_not_utf8_is_one_line_error(tmp_path, capsys):
    (tmp_path / "scores").write_bytes(b"u1 u2 0.9 target\nu1 u3 0.1 nontarget\nu\xff u3 0.2 nontarget\n")
    with pytest.raises(SystemExit) as e:
        metrics_cli.main(["--scores", str(tmp_path / "scores")])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"compute_metrics: error: {tmp_path / 'scores'}:3: not UTF-8 text") and err.count("\n") == 1


@pytest.mark.parametrize("which, cut, key, line", [("first", 20, "u1", 1), ("first", 41, "u1", 1), ("first", 44, "u1", 1),
                                                    ("last", -4, "u3", 3), ("last", -1, "u3", 3)])
def test_truncated_ark_names_the_cut_key(tmp_path, which, cut, key, line):
    """Vectors of 8 floats at offsets 3, 48, 93: a cut inside the first vector (some cuts leave a whole number
    of floats, which kaldiio returned as a shorter vector) or inside the last one."""
    _scp(tmp_path, n=3, dim=8)
    data = (tmp_path / "x.ark").read_bytes()
    (tmp_path / "x.ark").write_bytes(data[:cut])
    with pytest.raises(DataError, match=rf"x.scp:{line}: key '{key}': ark is truncated"):
        read_embeddings(tmp_path / "x.scp")


def test_embedding_scp_duplicate_key_names_both_lines(tmp_path):
    _scp(tmp_path)
    first = (tmp_path / "x.scp").read_text().splitlines()[0]
    (tmp_path / "x.scp").write_text((tmp_path / "x.scp").read_text() + first + "\n")
    with pytest.raises(DataError, match=r"x.scp:4: key 'u1': duplicate key \(first seen on line 1\)"):
        read_embeddings(tmp_path / "x.scp")
