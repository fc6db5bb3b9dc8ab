"""The manifests and Kaldi dirs of every split change together: a run stopped at any point leaves the
old set or the new one (never train of one run beside test of another), and the feature stage refuses
a mixed set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from embspace.bin import prepare_manifests
from embspace.data.manifests import load_cuts
from embspace.utils.errors import DataError

from conftest import make_tiny_corpus


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every visible file under ``root`` (relative path -> bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def _hidden(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*"))


def _args(meta: Path, data: Path, seed: int) -> list[str]:
    return ["--metadata", str(meta), "--corpus", "c", "--manifest-dir", str(data / "manifests"), "--kaldi-dir", str(data),
            "--test-fraction", "0.34", "--split-seed", str(seed), "--nj", "1"]


def _killed_run(args: list[str], kill_at: int) -> bool:
    """Run prepare_manifests in a child process killed (no clean-up at all) at its ``kill_at``-th rename;
    ``True`` when it was killed, ``False`` when it finished first."""
    pid = os.fork()
    if pid == 0:  # the child: count renames, die at the chosen one
        calls = {"n": 0}
        real_replace, real_rename = os.replace, os.rename

        def counting(real):
            def rename(*a, **k):
                calls["n"] += 1
                if calls["n"] == kill_at:
                    os._exit(137)
                return real(*a, **k)
            return rename

        os.replace, os.rename = counting(real_replace), counting(real_rename)
        try:
            prepare_manifests.main(args)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 137


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Six speakers, one utterance each, metadata without splits (drawn by --split-seed)."""
    meta = make_tiny_corpus(tmp_path / "corpus", num_speakers=6, utts=1, num_test=0)
    lines = [json.loads(line) for line in meta.read_text().splitlines()]
    meta.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "split"}) + "\n" for e in lines))
    return meta


def test_a_run_stopped_at_any_point_leaves_one_whole_set(corpus: Path, tmp_path: Path) -> None:
    data_a, data_b = tmp_path / "a", tmp_path / "b"
    prepare_manifests.main(_args(corpus, data_a, seed=0))
    prepare_manifests.main(_args(corpus, data_b, seed=1))
    set_a, set_b = _snapshot(data_a), _snapshot(data_b)
    assert set_a.keys() == set_b.keys() and set_a != set_b  # two different speaker splits
    data = tmp_path / "data"
    for kill_at in range(1, 100):
        prepare_manifests.main(_args(corpus, data, seed=0))
        assert _snapshot(data) == set_a and not _hidden(data)
        if not _killed_run(_args(corpus, data, seed=1), kill_at):
            assert _snapshot(data) == set_b
            break
        try:  # the feature stage: a whole set, or a clear refusal
            for split in ("train", "test"):
                load_cuts(data / "manifests", "c", split)
        except DataError as e:
            assert "rerun the manifest stage" in str(e)
        else:
            assert _snapshot(data) in (set_a, set_b), f"killed at rename {kill_at}: a mixed set was accepted"
        prepare_manifests.main(_args(corpus, data, seed=1))  # the next run cleans up and writes its set
        assert _snapshot(data) == set_b and not _hidden(data), f"killed at rename {kill_at}: {_hidden(data)}"
    else:
        pytest.fail("the run was killed at every rename")


def test_unwritable_kaldi_dir_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare_manifests.main(_args(corpus, data, seed=0))
    before = _snapshot(data)
    (tmp_path / "file").write_text("x")
    args = _args(corpus, data, seed=1)
    args[args.index("--kaldi-dir") + 1] = str(tmp_path / "file" / "kaldi")  # a file where a folder should be
    with pytest.raises(SystemExit) as e:
        prepare_manifests.main(args)
    assert e.value.code == 1
    assert _snapshot(data) == before and not _hidden(data)


def test_feature_stage_names_speakers_in_train_and_test(corpus: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    prepare_manifests.main(_args(corpus, a, seed=0))
    prepare_manifests.main(_args(corpus, b, seed=1))
    mixed = a / "manifests"  # test of run b beside train of run a
    for name in ("c_recordings_test.jsonl.gz", "c_supervisions_test.jsonl.gz"):
        (mixed / name).write_bytes((b / "manifests" / name).read_bytes())
    with pytest.raises(DataError, match=r"speaker\(s\) in both 'train' and 'test' \(spk00\d"):
        load_cuts(mixed, "c", "train")


def _prepare_voxceleb(*args: str) -> None:
    from test_voxceleb_recipe import _load_local

    _load_local("prepare_voxceleb").main([*args, "--vox2-ext", "wav", "--nj", "1"])


def test_prepare_voxceleb_replaces_its_splits_together(tmp_path: Path) -> None:
    from test_voxceleb_recipe import make_corpora

    c = make_corpora(tmp_path / "corpora")
    data = tmp_path / "data"
    out = ["--manifest-dir", str(data / "manifests"), "--kaldi-dir", str(data)]
    _prepare_voxceleb("--voxceleb1-root", str(c["vox1"]), "--voxceleb2-root", str(c["vox2"]), *out)
    before = _snapshot(data)
    assert "voxceleb1_test/wav.scp" in before and "manifests/voxceleb_cuts_train.jsonl.gz" in before
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit):  # VoxCeleb2 only, Kaldi dirs unwritable: nothing changes
        _prepare_voxceleb("--voxceleb2-root", str(c["vox2"]), "--manifest-dir", str(data / "manifests"),
                          "--kaldi-dir", str(tmp_path / "file" / "data"))
    assert _snapshot(data) == before and not _hidden(data)
    _prepare_voxceleb("--voxceleb2-root", str(c["vox2"]), *out)  # no test split now: its files go in the same commit
    after = _snapshot(data)
    assert not any("test" in name for name in after) and after["voxceleb_train/wav.scp"] != before["voxceleb_train/wav.scp"]
    assert not _hidden(data)
