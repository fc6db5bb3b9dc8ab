"""steps/inside/report.sh: one INSIDE system's rows per call, extras as KEY=VALUE, its data set's size."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import REPO


def _step(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(["bash", str(REPO / "steps" / "inside" / "report.sh"), *args], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)


def _scores(d: Path, name: str, eer: float) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.metrics.json").write_text(json.dumps({"eer": eer, "mindcf_0.01": 0.5, "mindcf_0.05": 0.3}))
    (d / f"{name}.score").write_text("a b 0.5 target\na c 0.1 nontarget\n")


def test_rows_of_one_system_with_extras_and_data_size(tmp_path: Path) -> None:
    for name in ("l1", "l2"):
        _scores(tmp_path / "base", name, 10.0)
        _scores(tmp_path / "ins", name, 8.0)
    report = tmp_path / "data_report.json"
    report.write_text(json.dumps({"kept_identities": 7, "kept_utterances": 42, "removed": {"a": 1, "b": 2},
                                  "combined": {"synthetic_fraction": 0.25}}))
    r = _step(tmp_path, "--results", "results.json", "--trials", "l1 l2", "--system", "sys", "--method", "baseline",
              "--score-dir", "base")
    assert r.returncode == 0, r.stderr
    r = _step(tmp_path, "--results", "results.json", "--trials", "l1 l2", "--system", "sys_inside", "--baseline", "sys",
              "--score-dir", "ins", "--data-report", str(report), "norm=none", "variant=nn_x1")
    assert r.returncode == 0, r.stderr
    rows = {(x["system"], x["trials"]): x for x in json.loads((tmp_path / "results.json").read_text())["rows"]}
    for t in ("l1", "l2"):
        row = rows[("sys_inside", t)]
        assert row["method"] == "inside" and row["baseline"] == "sys" and row["eer"] == 8.0
        assert row["variant"] == "nn_x1" and str(row["identities"]) == "7" and str(row["synthetic_utts"]) == "42"
        assert str(row["filtered"]) == "3" and row["eer_rel_change"] == -20.0
        assert row["score_file"].endswith(f"ins/{t}.score")


def test_an_extra_that_is_not_key_value_is_refused(tmp_path: Path) -> None:
    _scores(tmp_path / "ins", "l1", 8.0)
    r = _step(tmp_path, "--results", "results.json", "--trials", "l1", "--system", "s", "--score-dir", "ins", "oops")
    assert r.returncode == 1 and "expected KEY=VALUE, got 'oops'" in r.stderr
    assert not (tmp_path / "results.json").exists()
