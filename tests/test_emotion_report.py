"""bin/emotion_report: results rows, the ablation report and the DET plot of every system, drawn
through the scoring library (score_file_curves + plot_det)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embspace.bin import emotion_report
from embspace.scoring.det import score_file_curves
from embspace.utils.errors import DataError


def _system(root: Path, name: str, shift: float) -> Path:
    sdir = root / name / "scores"
    sdir.mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    lines = [f"e{i} t{i} {rng.normal(1.0 + shift, 0.5):.4f} target\n" for i in range(20)]
    lines += [f"e{i} n{i} {rng.normal(0.0, 0.5):.4f} nontarget\n" for i in range(40)]
    for lst in ("test_nn", "test_merged"):
        (sdir / f"{lst}.score").write_text("".join(lines))
        (sdir / f"{lst}.metrics.json").write_text(json.dumps({"eer": 10.0 - shift, "mindcf_0.01": 0.5,
                                                              "mindcf_0.05": 0.4}))
    return root / name


def test_det_plot_names_every_system_in_order(tmp_path):
    a, b = _system(tmp_path, "neutral", 0.0), _system(tmp_path, "ft", 1.0)
    png = tmp_path / "det.png"
    assert emotion_report.main(["--results", str(tmp_path / "results.json"), "--system", f"neutral={a}",
                                "--system", f"ft={b}", "--out-md", str(tmp_path / "report.md"),
                                "--det-png", str(png)]) == 0
    assert json.loads(Image.open(png).info["Description"]) == ["neutral", "ft"]
    assert "## EER (%)" in (tmp_path / "report.md").read_text()


def test_score_file_curves_needs_both_kinds_of_trial(tmp_path):
    only = tmp_path / "s"
    only.write_text("a b 0.3 target\nc d 0.2 target\n")
    with pytest.raises(DataError, match="need both target and non-target trials, got 2 and 0"):
        score_file_curves({"x": only})


@pytest.mark.parametrize("systems, message", [
    (["neutral=A", "neutral=B"], "--system: name 'neutral' given twice"),
    (["neutral=A", "ftB"], "--system expects NAME=DIR, got 'ftB'"),
])
def test_bad_system_options_are_usage_errors(tmp_path, capsys, systems, message):
    a, b = _system(tmp_path, "A", 0.0), _system(tmp_path, "B", 1.0)
    argv = ["--results", str(tmp_path / "results.json"), "--out-md", str(tmp_path / "report.md")]
    for s in systems:
        argv += ["--system", s.replace("=A", f"={a}").replace("=B", f"={b}")]
    with pytest.raises(SystemExit) as e:
        emotion_report.main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "report.md").exists()
