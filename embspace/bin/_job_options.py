"""``--job`` / ``--nj`` of the CLIs that run one of several parallel jobs (extract, seed_enhance, inside_synthesize)."""

from __future__ import annotations

import argparse


def add_job_options(p: argparse.ArgumentParser, what: str = "the cuts") -> None:
    """``--job`` (1-based) and ``--nj``; ``what`` names what is split over the jobs."""
    p.add_argument("--job", type=int, default=1, help="this job's number, 1..nj (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help=f"number of jobs {what} are split into (default: %(default)s)")


def check_job_options(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) unless ``1 <= --job <= --nj``."""
    if args.nj < 1:
        p.error(f"--nj must be at least 1, got {args.nj}")
    if not 1 <= args.job <= args.nj:
        p.error(f"--job {args.job} is outside 1..{args.nj} (--nj {args.nj})")
