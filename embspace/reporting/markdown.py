"""A recipe's RESULTS.md: the tables of its results file under a header naming commit, machine and seeds."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path

from embspace.report import load_rows, render_markdown


def source_commit() -> str:
    """The source checkout's commit (with '+changes' when its work tree differs), or 'unknown'."""
    repo = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return sha + (" +changes" if dirty else "")


def markdown_page(results: str, seeds: str) -> str:
    """The tables of ``results`` under a header: the command that made them, commit, machine, seeds."""
    rows = load_rows(results)
    row_seeds = sorted({f"{k}={r[k]}" for r in rows for k in r if "seed" in k})
    machine = f"{socket.gethostname()} ({platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    header = ["# Results", "",
              f"Generated from `{results}` by `python -m embspace.bin.report --from-results {results} --markdown ...`;",
              "do not edit by hand (rerun the recipe, then that command).", "",
              f"- commit: {source_commit()}", f"- machine: {machine}",
              f"- seeds: {'; '.join(x for x in (seeds.strip(), ', '.join(row_seeds)) if x) or 'not given'}", "", ""]
    tables = render_markdown(rows).split("\n", 2)[2]  # without its own "# Results" title
    return "\n".join(header) + tables
