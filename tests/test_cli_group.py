"""The ``embspace`` command: every recipe tool under ``embspace <group> <command>``, help for each,
and the shared options of :mod:`embspace.cli.args`."""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from embspace.cli import main
from embspace.cli.args import add_bool, int_list, name_path, name_values
from embspace.cli.commands import GROUPS, TOP_LEVEL, registered_modules
from tests.conftest import REPO

BIN = REPO / "embspace" / "bin"
COMMANDS = [(g, c) for g, (_, cmds) in GROUPS.items() for c in cmds] + [(c,) for c in TOP_LEVEL]


def _has_main(path: Path) -> bool:
    return any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in ast.parse(path.read_text()).body)


def test_every_cli_module_is_registered():
    with_main = {p.stem for p in BIN.glob("*.py") if not p.stem.startswith("_") and _has_main(p)}
    assert with_main - registered_modules() == set()
    assert registered_modules() - with_main == set()


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_help_exits_0(words, capsys):
    with pytest.raises(SystemExit) as e:
        main([*words, "--help"])
    assert e.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_top_help_lists_every_command_grouped(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group, (_, cmds) in GROUPS.items():
        assert f"\n{group}: " in out
        for c in cmds:
            assert f"  {group} {c} " in out
    for c in ("embed", "similarity", *TOP_LEVEL):
        assert f"\n  {c} " in out


def test_group_help_and_unknown_commands(capsys):
    assert main(["seed", "--help"]) == 0
    assert "  enhance " in capsys.readouterr().out
    assert main(["seed", "nosuch"]) == 2
    assert "unknown command 'seed nosuch'" in capsys.readouterr().err
    assert main(["nosuch"]) == 2
    assert main([]) == 2


def test_a_command_runs_its_module_and_python_m_embspace_works(tmp_path):
    trials = tmp_path / "trials"
    trials.write_text("a b target\na c nontarget\n")
    scores = tmp_path / "s"
    scores.write_text("a b 0.9\na c 0.1\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "embspace", "score", "metrics", "--help"], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0 and "usage: compute_metrics" in r.stdout
    r = subprocess.run([sys.executable, "-m", "embspace", "score", "metrics", "--scores", str(tmp_path / "missing")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and r.stderr.startswith("compute_metrics: error: ")


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("yes", True), ("0", False)])
def test_booleans_take_a_value(text, value):
    p = argparse.ArgumentParser()
    add_bool(p, "--use-gpu", False, "run on CUDA")
    assert p.parse_args(["--use-gpu", text]).use_gpu is value
    assert p.parse_args([]).use_gpu is False


def test_a_boolean_flag_alone_means_true():
    p = argparse.ArgumentParser()
    add_bool(p, "--resample", False, "resample")
    assert p.parse_args(["--resample"]).resample is True
    assert p.parse_args(["--resample", "false"]).resample is False


def test_a_bad_boolean_is_a_usage_error(capsys):
    p = argparse.ArgumentParser(prog="x")
    add_bool(p, "--record", True, "record")
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--record", "maybe"])
    assert e.value.code == 2 and "expected true or false, got 'maybe'" in capsys.readouterr().err


def test_name_value_pairs(capsys):
    p = argparse.ArgumentParser(prog="x")
    assert name_values(["a=1", "b=x=y"], p, "--opt") == {"a": "1", "b": "x=y"}
    assert name_values(["a=1", "a=2"], p, "--opt", unique=False) == {"a": "2"}
    for items in (["a"], ["=1"], ["a=1", "a=2"]):
        with pytest.raises(SystemExit):
            name_values(items, p, "--opt")
    assert "--opt" in capsys.readouterr().err
    assert name_path("old=exp/a.scp") == ("old", "exp/a.scp")
    with pytest.raises(argparse.ArgumentTypeError, match="NAME without '/'"):
        name_path("a/b=c")
    assert int_list("1,2 3") == [1, 2, 3] and int_list([4]) == [4] and int_list(" ") == []


def test_use_gpu_false_is_the_cpu_and_the_args_module_loads_no_torch():
    from embspace.cli.args import add_use_gpu, gpu_device

    p = argparse.ArgumentParser()
    add_use_gpu(p)
    assert str(gpu_device(p.parse_args(["--use-gpu", "false"]))) == "cpu"
    code = "import sys, embspace.cli.args, embspace.bin.train; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO))).stdout
    assert out.strip() == "False"  # bin/train pins the numerics environment before torch loads
