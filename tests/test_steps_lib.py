"""steps/lib.sh helpers, sourced from small bash scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "steps" / "lib.sh"


def resolve(tmp_path: Path, spec: str) -> subprocess.CompletedProcess:
    script = f'. "{LIB}"\nresolve_extractor "$1" exp ecapa\necho "$extractor_name|$extractor_model|$extractor_file"\n'
    return subprocess.run(["bash", "-c", script, "x", spec], capture_output=True, text=True, cwd=tmp_path, timeout=30)


def test_resolve_extractor_names_each_kind_of_extractor(tmp_path: Path) -> None:
    (tmp_path / "exp" / "xvec" / "models").mkdir(parents=True)
    (tmp_path / "exp" / "xvec" / "models" / "avg_model.pt").write_bytes(b"x")
    (tmp_path / "m").mkdir()
    for name in ("ws r34.pt", "ecapa.onnx", "ecapa.ts"):
        (tmp_path / "m" / name).write_bytes(b"x")
    expect = {
        "system": "ecapa|exp/ecapa/models/avg_model.pt|false",
        "ge2e": "ge2e|ge2e|false",
        "xvec": "xvec|exp/xvec/models/avg_model.pt|false",
        "m/ws r34.pt": "ws r34|m/ws r34.pt|true",
        "m/ecapa.onnx": "ecapa|m/ecapa.onnx|true",
        "m/ecapa.ts": "ecapa|m/ecapa.ts|true",
    }
    for spec, out in expect.items():
        r = resolve(tmp_path, spec)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == out, spec


def test_resolve_extractor_rejects_what_it_cannot_find(tmp_path: Path) -> None:
    (tmp_path / "exp" / "xvec" / "models").mkdir(parents=True)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "xvec.onnx").write_bytes(b"x")  # would write into the trained system's folder
    for spec, words in (("missing.onnx", "model file not found: missing.onnx"),
                        ("nosuch", "no exp/nosuch/models/avg_model.pt"),
                        ("../etc", "neither system"), ("m/xvec.onnx", "the name of a system under exp")):
        r = resolve(tmp_path, spec)
        assert r.returncode == 1 and words in r.stderr, (spec, r.stderr)
        assert r.stdout == ""
