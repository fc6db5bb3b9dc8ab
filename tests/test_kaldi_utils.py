"""Kaldi data-dir utilities (embspace.data.kaldi_utils) and their utils/*.py scripts, on hand-made dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from embspace.data.kaldi_utils import (
    balanced_cuts,
    combine_data_dirs,
    filter_scp,
    fix_data_dir,
    split_data,
    subset_data_dir,
)
from embspace.data.tables import read_table
from embspace.utils.errors import DataError

REPO = Path(__file__).resolve().parents[1]

# speaker -> number of utterances (uneven on purpose)
SPEAKERS = {"spkA": 5, "spkB": 1, "spkC": 3, "spkD": 2, "spkE": 4, "spkF": 3}
GENDER = {"spkA": "m", "spkB": "f", "spkC": "f", "spkD": "m", "spkE": "f", "spkF": "m"}


def make_dir(d: Path, speakers: dict[str, int] = SPEAKERS, prefix: str = "") -> list[str]:
    """wav.scp / utt2spk / text / spk2gender (deliberately unsorted lines); returns the utterance ids."""
    d.mkdir(parents=True, exist_ok=True)
    utts = [(f"{prefix}{spk}-{i:02d}", spk) for spk, n in speakers.items() for i in range(n)]
    rev = list(reversed(utts))
    (d / "wav.scp").write_text("".join(f"{u} sox /fake/{u}.flac -t wav - |\n" for u, _ in rev))
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in rev))
    (d / "text").write_text("".join(f"{u} HELLO {s.upper()}\n" for u, s in rev))
    (d / "spk2gender").write_text("".join(f"{s} {GENDER[s]}\n" for s in speakers))
    return sorted(u for u, _ in utts)


def run_script(name: str, *args: object, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(REPO / "utils" / name), *map(str, args)], input=stdin,
                          capture_output=True, text=True, env=env, cwd=cwd)


def keys(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def test_fix_data_dir_removes_utterance_missing_from_utt2spk(tmp_path):
    d = tmp_path / "data"
    utts = make_dir(d)
    (d / "utt2spk").write_text("".join(l + "\n" for l in (d / "utt2spk").read_text().splitlines() if not l.startswith("spkB-00")))
    (d / "spk2utt").write_text("stale stale-utt\n")
    orig_text = (d / "text").read_text()
    report = fix_data_dir(d)
    kept = [u for u in utts if u != "spkB-00"]
    for name in ("wav.scp", "utt2spk", "text"):
        assert keys(d / name) == kept, name  # intersected and C-sorted
    assert "spkB" not in read_table(d / "spk2gender")  # spkB had only the removed utterance
    spk2utt = read_table(d / "spk2utt")
    assert sorted(spk2utt) == ["spkA", "spkC", "spkD", "spkE", "spkF"]
    assert spk2utt["spkD"] == ["spkD-00", "spkD-01"]
    assert (d / ".backup" / "text").read_text() == orig_text
    assert (report.utts_before, report.utts_after) == (len(utts), len(utts) - 1)
    assert report.removed == {"wav.scp": 1, "text": 1, "spk2gender": 1}
    assert (report.speakers_before, report.speakers_after) == (5, 5)
    again = fix_data_dir(d)  # idempotent
    assert again.changed == [] and again.removed == {}


def test_fix_data_dir_refuses_duplicates_without_writing(tmp_path):
    d = tmp_path / "data"
    make_dir(d)
    before = (d / "text").read_text()
    with open(d / "text", "a") as f:
        f.write("spkA-00 AGAIN\n")
    with pytest.raises(DataError) as e:
        fix_data_dir(d)
    assert e.value.key == "spkA-00" and Path(e.value.path).name == "text"
    assert (d / "wav.scp").read_text().startswith("spkF")  # untouched (still in the unsorted input order)
    assert (d / "text").read_text() == before + "spkA-00 AGAIN\n"


def test_split_by_speaker_keeps_speakers_whole(tmp_path):
    d = tmp_path / "data"
    utts = make_dir(d)
    fix_data_dir(d)
    parts = split_data(d, 3)
    assert parts == [d / "split3" / str(i) for i in (1, 2, 3)]
    seen: list[str] = []
    owner: dict[str, int] = {}
    sizes = []
    for i, part in enumerate(parts):
        u2s = read_table(part / "utt2spk")
        sizes.append(len(u2s))
        seen += list(u2s)
        for spk in u2s.values():
            assert owner.setdefault(spk, i) == i, f"{spk} in two parts"
        for name in ("wav.scp", "text"):
            assert keys(part / name) == sorted(u2s)
        assert sorted(read_table(part / "spk2gender")) == sorted(set(u2s.values()))
        assert sorted(read_table(part / "spk2utt")) == sorted(set(u2s.values()))
    assert sorted(seen) == utts and len(seen) == len(set(seen))  # every utterance exactly once
    assert max(sizes) - min(sizes) <= max(SPEAKERS.values())
    with pytest.raises(DataError, match="7 parts"):
        split_data(d, 7)


def test_split_per_utt_near_equal_and_reused(tmp_path):
    d = tmp_path / "data"
    utts = make_dir(d)
    fix_data_dir(d)
    old = (d / "utt2spk").stat().st_mtime - 100
    for f in d.iterdir():
        if f.is_file():
            os.utime(f, (old, old))
    parts = split_data(d, 4, per_utt=True)
    assert parts[0].parent.name == "split4utt"
    sizes = [len(keys(p / "utt2spk")) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(utts)
    assert sorted(u for p in parts for u in keys(p / "wav.scp")) == utts
    stamp = (parts[0] / "utt2spk").stat().st_mtime_ns
    assert split_data(d, 4, per_utt=True) == parts
    assert (parts[0] / "utt2spk").stat().st_mtime_ns == stamp  # reused, not rewritten
    (d / "text").write_text((d / "text").read_text())  # a source newer than the split: redone
    split_data(d, 4, per_utt=True)
    assert (parts[0] / "utt2spk").stat().st_mtime_ns > stamp


def test_balanced_cuts():
    assert balanced_cuts([1] * 10, 3) == [0, 3, 7, 10]
    assert balanced_cuts([5, 1, 1, 1, 1, 1], 2) == [0, 1, 6]
    assert balanced_cuts([9, 1, 1], 3) == [0, 1, 2, 3]  # every run non-empty


def test_split_refuses_inconsistent_dir(tmp_path):
    d = tmp_path / "data"
    make_dir(d)
    (d / "text").write_text("".join(l + "\n" for l in (d / "text").read_text().splitlines() if not l.startswith("spkC-01")))
    with pytest.raises(DataError, match="fix_data_dir") as e:
        split_data(d, 2)
    # named where it has a line: the utt2spk line of the utterance that text lacks
    assert e.value.key == "spkC-01" and Path(e.value.path).name == "utt2spk" and "is not in text" in str(e.value)


def test_subset_data_dir(tmp_path):
    d = tmp_path / "data"
    utts = make_dir(d)
    (tmp_path / "spk.list").write_text("spkC\nspkE\nnobody\n")
    out = subset_data_dir(d, tmp_path / "sub", spk_list=tmp_path / "spk.list")
    assert set(read_table(out / "utt2spk").values()) == {"spkC", "spkE"}
    assert keys(out / "text") == keys(out / "wav.scp") == [u for u in utts if u.split("-")[0] in ("spkC", "spkE")]
    assert keys(out / "spk2gender") == ["spkC", "spkE"]
    assert keys(subset_data_dir(d, tmp_path / "first", first=4) / "utt2spk") == utts[:4]
    assert keys(subset_data_dir(d, tmp_path / "last", last=2) / "wav.scp") == utts[-2:]
    assert keys(subset_data_dir(d, tmp_path / "some", utt_list=["spkB-00", "spkF-02"]) / "text") == ["spkB-00", "spkF-02"]
    with pytest.raises(DataError, match="no utterance"):
        subset_data_dir(d, tmp_path / "none", utt_list=["nope"])
    proc = run_script("subset_data_dir.py", "--first", "99", d, tmp_path / "toomany")
    assert proc.returncode == 1 and "subset_data_dir: error:" in proc.stderr and not (tmp_path / "toomany").exists()


def test_combine_and_duplicate(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ua = make_dir(a, {"spkA": 2, "spkB": 1})
    ub = make_dir(b, {"spkB": 2, "spkC": 1}, prefix="x")  # spkB in both dirs, distinct utterance ids
    (b / "utt2dur").write_text("".join(f"{u} 1.0\n" for u in ub))  # only in b: left out
    skipped = combine_data_dirs(tmp_path / "all", [a, b])
    assert skipped == ["utt2dur"]
    out = tmp_path / "all"
    assert keys(out / "utt2spk") == sorted(ua + ub) == keys(out / "text")
    assert read_table(out / "spk2utt")["spkB"] == sorted(["spkB-00", "xspkB-00", "xspkB-01"])
    assert not (out / "utt2dur").exists()
    a2 = tmp_path / "a2"
    make_dir(a2, {"spkB": 2})  # spkB-00 is also in a
    proc = run_script("combine_data.py", tmp_path / "dup", a, b, a2)
    assert proc.returncode == 1 and not (tmp_path / "dup").exists()
    assert proc.stderr == f"combine_data: error: {a2}/utt2spk: key 'spkB-00': duplicate utterance id: also in {a}\n"
    c = tmp_path / "c"
    make_dir(c, {"spkC": 1})
    combine_data_dirs(tmp_path / "bc", [b, c])  # spkC in both, same gender: fine
    assert read_table(tmp_path / "bc" / "spk2utt")["spkC"] == ["spkC-00", "xspkC-00"]
    (c / "spk2gender").write_text("spkC m\n")  # b says f
    with pytest.raises(DataError, match="different entry") as e:
        combine_data_dirs(tmp_path / "dup3", [b, c])
    assert e.value.key == "spkC"


def test_filter_scp(tmp_path):
    scp = tmp_path / "utt2spk"
    scp.write_text("u1 s1\nu2 s2\nu3 s1\n")
    (tmp_path / "ids").write_text("u3\nu1 extra\n")
    assert filter_scp(tmp_path / "ids", scp) == ["u1 s1", "u3 s1"]
    assert filter_scp(tmp_path / "ids", scp, exclude=True) == ["u2 s2"]
    assert filter_scp(["s1"], scp, field=2) == ["u1 s1", "u3 s1"]
    assert filter_scp(["s1"], scp, field=2, exclude=True) == ["u2 s2"]
    with pytest.raises(DataError, match="no field 3") as e:
        filter_scp(["x"], scp, field=3)
    assert e.value.line == 1
    (tmp_path / "spk").write_text("s2\n")
    proc = run_script("filter_scp.py", "--exclude", "-f", "2", tmp_path / "spk", stdin=scp.read_text())
    assert proc.returncode == 0 and proc.stdout == "u1 s1\nu3 s1\n"


def test_utt2spk_spk2utt_scripts_round_trip(tmp_path):
    utt2spk = "a-1 a\na-2 a\nb-1 b\nc-1 c\nc-2 c\n"
    p = run_script("utt2spk_to_spk2utt.py", stdin=utt2spk)
    assert p.returncode == 0 and p.stdout == "a a-1 a-2\nb b-1\nc c-1 c-2\n"
    q = run_script("spk2utt_to_utt2spk.py", stdin=p.stdout)
    assert q.returncode == 0 and q.stdout == utt2spk
    (tmp_path / "utt2spk").write_text(utt2spk)
    assert run_script("utt2spk_to_spk2utt.py", tmp_path / "utt2spk", tmp_path / "spk2utt").returncode == 0
    assert (tmp_path / "spk2utt").read_text() == p.stdout
    bad = run_script("utt2spk_to_spk2utt.py", stdin="a-1 a\na-1 b\n")
    assert bad.returncode == 1 and "<stdin>:2: key 'a-1'" in bad.stderr


def test_scripts_from_recipe_symlink(tmp_path):
    d = tmp_path / "data"
    make_dir(d)
    (tmp_path / "utils").symlink_to(REPO / "utils")
    fix = subprocess.run([str(tmp_path / "utils" / "fix_data_dir.py"), "data"], cwd=tmp_path, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert fix.returncode == 0, fix.stderr
    assert "fix_data_dir: kept 18 of 18 utterances" in fix.stderr
    split = run_script("split_data.py", "data", "2", cwd=tmp_path)
    assert split.returncode == 0 and split.stdout.split() == ["data/split2/1", "data/split2/2"]


def test_validate_data_dir_script(tmp_path):
    d = tmp_path / "data"
    make_dir(d, {"spkA": 2, "spkB": 2})
    with open(d / "utt2spk", "a") as f:
        f.write("ghost-00 spkA\n")
    proc = run_script("validate_data_dir.py", d)
    assert proc.returncode == 1
    assert proc.stderr.startswith("validate_data_dir: error:")
    assert f"{d}/utt2spk" in proc.stderr and "key 'ghost-00'" in proc.stderr
    fix_data_dir(d)
    ok = run_script("validate_data_dir.py", d)
    assert ok.returncode == 0 and ok.stdout.strip() == f"Successfully validated data-directory {d}"
