"""File-system failures (a file where a folder should be, a full disk) are one line and exit 1 from
every CLI, nothing partial is left under a final name; ``--job`` outside ``1..nj`` is a usage error;
jobs with no utterance write empty parts that merge cleanly."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from lhotse import CutSet

from embspace.bin import extract, merge_embeddings
from embspace.embio import read_embeddings
from embspace.models import build_model
from embspace.training import checkpoint as ckpt

from conftest import REPO


def _run(argv: list[str], fsize: int | None = None) -> subprocess.CompletedProcess:
    """Run a CLI; ``fsize``: the largest file it may write (bytes), as on a nearly full disk."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, env=env, cwd=REPO,
                          preexec_fn=limit if fsize else None)


def _one_error_line(proc: subprocess.CompletedProcess, prog: str, path: Path, reasons: tuple[str, ...]) -> None:
    """Exit 1 and, last, one line ``prog: error: <path or a path below it>: <reason>``, no traceback."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    where, _, reason = lines[-1].removeprefix(f"{prog}: error: ").rpartition(": ")
    assert lines[-1].startswith(f"{prog}: error: /") and reason in reasons, proc.stderr
    assert Path(where) == path or path in Path(where).parents, proc.stderr
    assert not any("error" in line for line in lines[:-1]), proc.stderr


@pytest.fixture
def not_a_dir(tmp_path: Path) -> Path:
    """A regular file: anything below it cannot be created, even by root."""
    f = tmp_path / "file"
    f.write_text("x")
    return f


def test_output_under_a_file_is_one_line(tiny_data, not_a_dir: Path) -> None:
    test_dir = tiny_data["data"] / "test"
    cases = [
        (["-m", "embspace.bin.make_trials", "--data-dir", test_dir, "--out", not_a_dir / "trials"], "make_trials"),
        (["-m", "embspace.bin.prepare_manifests", "--metadata", tiny_data["metadata"], "--corpus", "x",
          "--manifest-dir", not_a_dir / "m", "--nj", "1"], "prepare_manifests"),
        (["utils/subset_data_dir.py", "--first", "2", test_dir, not_a_dir / "sub"], "subset_data_dir"),
        (["utils/utt2spk_to_spk2utt.py", test_dir / "utt2spk", not_a_dir / "spk2utt"], "utt2spk_to_spk2utt"),
    ]
    for argv, prog in cases:
        proc = _run(argv)
        _one_error_line(proc, prog, not_a_dir, ("Not a directory", "is a file, a folder is needed here"))


def test_full_disk_is_one_line_and_leaves_nothing(tiny_data, tmp_path: Path) -> None:
    out = tmp_path / "trials"
    proc = _run(["-m", "embspace.bin.make_trials", "--data-dir", tiny_data["data"] / "test", "--out", out], fsize=1000)
    _one_error_line(proc, "make_trials", out, ("File too large",))
    assert not list(tmp_path.iterdir())  # no partial trials, no temporary file
    proc = _run(["-m", "embspace.bin.prepare_manifests", "--metadata", tiny_data["metadata"], "--corpus", "x",
                 "--manifest-dir", tmp_path / "m", "--kaldi-dir", tmp_path / "k", "--nj", "1"], fsize=1000)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "File too large" in proc.stderr.splitlines()[-1]
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def _model(tmp_path: Path) -> Path:
    cfg = {"type": "xvector", "feat_dim": 40, "embed_dim": 16}
    path = tmp_path / "model.pt"
    ckpt.save({"model": build_model(cfg).state_dict(), "model_config": cfg}, path)
    return path


def test_job_outside_nj_is_a_usage_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        extract.main(["--model", "x.pt", "--cuts", "c.jsonl.gz", "--out-dir", str(tmp_path), "--job", "3", "--nj", "2"])
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "extract: error: --job 3 is outside 1..2 (--nj 2)"


def test_more_jobs_than_utterances(tiny_data, tmp_path: Path) -> None:
    cuts = tmp_path / "cuts.jsonl.gz"
    from embspace.features.fbank import load_feature_cuts, write_feature_cuts

    write_feature_cuts(load_feature_cuts(tiny_data["test_cuts"]).subset(first=8), cuts)
    model, out = _model(tmp_path), tmp_path / "emb"
    for job in range(1, 11):
        extract.main(["--model", str(model), "--cuts", str(cuts), "--out-dir", str(out), "--job", str(job), "--nj", "10"])
    sizes = [(out / f"xvector.{job}.scp").stat().st_size for job in range(1, 11)]
    assert sizes.count(0) == 2
    merge_embeddings.main(["--dir", str(out), "--nj", "10", "--utt2spk", str(tiny_data["data"] / "test" / "utt2spk")])
    keys, emb = read_embeddings(out / "xvector.scp")
    assert sorted(keys) == sorted(c.id for c in CutSet.from_file(cuts)) and emb.shape == (8, 16)
