"""The package's layers, read from the imports of its source (no module is imported): the backbone
knows no method and no corpus, methods do not import each other, no CLI imports another CLI and no
library module imports a CLI; and the CLIs stay thin (options, then one call into library code)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "embspace"
BACKBONE = ("data", "features", "models", "training", "scoring", "losses", "utils", "signal")
METHODS = ("inside", "seed", "nessa", "emotion")
FORBIDDEN_IN_BACKBONE = tuple(f"embspace.{m}" for m in METHODS) + ("embspace.corpus.mini", "embspace.bin", "embspace.cli")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``), anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _report(f: Path, root: Path, modules: list[str]) -> list[str]:
    """``file: module`` for each module not under one already listed (``a`` covers ``a.b``)."""
    kept: list[str] = []
    for m in sorted(modules):
        if not any(m.startswith(k + ".") for k in kept):
            kept.append(m)
    return [f"{f.relative_to(root)}: {m}" for m in kept]


def violations(root: Path = PKG) -> list[str]:
    """Every import that breaks a layering rule, as ``file: module``."""
    bad = []
    for layer in BACKBONE:
        for f in sorted(root.joinpath(layer).rglob("*.py")):
            bad += _report(f, root, [m for m in _imports(f) if _under(m, FORBIDDEN_IN_BACKBONE)])
    for method in METHODS:
        others = tuple(f"embspace.{m}" for m in METHODS if m != method) + ("embspace.bin", "embspace.cli")
        for f in sorted(root.joinpath(method).rglob("*.py")):
            bad += _report(f, root, [m for m in _imports(f) if _under(m, others)])
    for f in sorted(root.joinpath("bin").glob("*.py")):
        bad += _report(f, root, [m for m in _imports(f)
                                 if m.startswith("embspace.bin.") and not m.split(".")[2].startswith("_")])
    for f in sorted(p for p in root.rglob("*.py") if p.relative_to(root).parts[0] not in ("bin", "cli")):
        bad += _report(f, root, [m for m in _imports(f) if _under(m, ("embspace.bin",))])
    return bad


#: the most lines one CLI module may have, and the largest share of the package's lines the CLIs may hold
MAX_CLI_LINES = 170
MAX_CLI_SHARE = 0.14


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_clis_stay_thin():
    """Loops, tables, evaluation and report formatting live in library modules, not in ``bin/``."""
    sizes = {f.name: _lines(f) for f in PKG.joinpath("bin").glob("*.py")}
    assert {n: k for n, k in sizes.items() if k > MAX_CLI_LINES} == {}
    total = sum(_lines(f) for f in PKG.rglob("*.py"))
    assert sum(sizes.values()) <= MAX_CLI_SHARE * total, f"bin/ holds {sum(sizes.values())} of {total} lines"


def test_layers_are_respected():
    assert violations() == []


@pytest.mark.parametrize("layer, src, bad", [
    ("training", "from embspace.emotion.config import emotion_options\n", "embspace.emotion.config"),
    ("training", "def f():\n    from embspace.corpus.mini import coloured_noise\n", "embspace.corpus.mini"),
    ("seed", "import embspace.nessa\n", "embspace.nessa"),
    ("bin", "from embspace.bin import report as report_cli\n", "embspace.bin.report"),
    ("reporting", "from embspace.bin.report import build_parser\n", "embspace.bin.report"),
])
def test_a_wrong_import_is_found(tmp_path, layer, src, bad):
    (tmp_path / layer).mkdir()
    (tmp_path / layer / "x.py").write_text(src)
    assert violations(tmp_path) == [f"{layer}/x.py: {bad}"]


def test_private_bin_option_modules_are_allowed(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "x.py").write_text("from embspace.bin._seed_options import inference_settings\n")
    assert violations(tmp_path) == []
