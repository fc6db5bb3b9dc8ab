"""Where results come from: the source checkout's commit and the machine (trained models can differ
between CPUs, so a table of results names both)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path


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


def machine() -> str:
    """Host, CPU model, platform, CPU count and Python version."""
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    return (f"{socket.gethostname()} ({cpu + ', ' if cpu else ''}{platform.platform()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()})")
