"""utils/parse_options.sh, sourced from small bash scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PARSE = Path(__file__).resolve().parents[1] / "utils" / "parse_options.sh"

SCRIPT = """set -euo pipefail
stage=0
stop_stage=100   # last stage to run
use_gpu=false
name="a b"
help_message="usage: demo.sh [options] <dir>"
. "$PARSE"
echo "stage=$stage stop_stage=$stop_stage use_gpu=$use_gpu name=$name"
echo "n=$#"
for a in "$@"; do echo "arg=$a"; done
"""


def bash(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "demo.sh"
    script.write_text(SCRIPT)
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, cwd=tmp_path,
                          env={"PARSE": str(PARSE), "PATH": "/usr/bin:/bin"}, timeout=30)


def test_sets_variables_and_keeps_positionals(tmp_path: Path) -> None:
    r = bash(tmp_path, "--stage", "3", "--stop-stage", "5", "--use-gpu", "true", "--name", "it's \"q\"",
             "x y", "--stage", "9")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ['stage=3 stop_stage=5 use_gpu=true name=it\'s "q"', "n=3", "arg=x y",
                                     "arg=--stage", "arg=9"]


def test_underscore_form_and_double_dash(tmp_path: Path) -> None:
    r = bash(tmp_path, "--stop_stage", "7", "--", "--not-an-option")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["stage=0 stop_stage=7 use_gpu=false name=a b", "n=1", "arg=--not-an-option"]


def test_config_is_sourced_first(tmp_path: Path) -> None:
    (tmp_path / "c.conf").write_text("stage=4\nstop_stage=6\n")
    r = bash(tmp_path, "--stage", "1", "--config", "c.conf", "d")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "stage=1 stop_stage=6 use_gpu=false name=a b"


def test_help_lists_every_option_with_its_value_and_comment(tmp_path: Path) -> None:
    for flag in ("--help", "-h"):
        r = bash(tmp_path, "--stage", "2", flag)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "usage: demo.sh [options] <dir>"
        opts = {ln.split()[0]: ln.split(None, 2)[1:] for ln in lines if ln.startswith("  --")}
        assert set(opts) == {"--stage", "--stop-stage", "--use-gpu", "--name"}
        assert opts["--stage"] == ["2"]  # the value after the options given before --help
        assert opts["--stop-stage"] == ["100", "# last stage to run"]


@pytest.mark.parametrize("args,msg", [
    (["--nope", "1"], "invalid option '--nope'"),
    (["--use-gpu", "yes"], "expects true or false"),
    (["--stage", "three"], "expects an integer, got 'three'"),
    (["--stop-stage", "2.5"], "expects an integer"),
    (["--stage=2"], "not '--stage=2'"),
    (["--stage"], "needs a value"),
    (["--config", "missing.conf"], "not found"),
])
def test_errors(tmp_path: Path, args: list[str], msg: str) -> None:
    r = bash(tmp_path, *args)
    assert r.returncode == 1 and msg in r.stderr and r.stdout == ""


def test_help_lists_the_options_of_a_file_sourced_before_it(tmp_path: Path) -> None:
    (tmp_path / "shared.sh").write_text("nj=4   # parallel jobs\ndata=data\n")
    script = tmp_path / "demo.sh"
    script.write_text('stage=0  # first stage\n. shared.sh\nhelp_message="usage"\n. "$PARSE"\necho "nj=$nj"\n')
    env = {"PARSE": str(PARSE), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    opts = [ln.split()[:2] for ln in r.stdout.splitlines() if ln.startswith("  --")]
    assert opts == [["--stage", "0"], ["--nj", "4"], ["--data", "data"]]
    r = subprocess.run(["bash", str(script), "--nj", "8"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=30)
    assert r.stdout.strip() == "nj=8"
