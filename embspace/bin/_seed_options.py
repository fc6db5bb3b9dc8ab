"""Inference options shared by seed_enhance and seed_evaluate."""

from __future__ import annotations

import argparse

from embspace.utils.errors import DataError


def add_inference_options(p: argparse.ArgumentParser) -> None:
    """Options shared by seed_enhance and seed_evaluate (defaults: the model file's)."""
    p.add_argument("--t-star", type=int, default=None, help="diffusion timestep of enhancement (default: the model's, 50)")
    p.add_argument("--num-draws", type=int, default=None, help="average over this many noise draws (default: the model's)")
    p.add_argument("--ddim-steps", type=int, default=None,
                   help="0/1: single step; N > 1: DDIM from t* in N steps (default: the model's)")
    p.add_argument("--extractor", default=None,
                   help="extractor of the input embeddings (model file or 'ge2e'); refuses a SEED model of another")


def inference_settings(args: argparse.Namespace, meta: dict) -> tuple[int, int, int]:
    """``(t_star, num_draws, ddim_steps)``: the options, else the model's defaults; validated."""
    inf = meta["seed"]["inference"]
    t_star = inf["t_star"] if args.t_star is None else args.t_star
    draws = inf["num_draws"] if args.num_draws is None else args.num_draws
    ddim = inf["ddim_steps"] if args.ddim_steps is None else args.ddim_steps
    if not 0 <= t_star < meta["seed"]["num_steps"]:
        raise DataError(f"--t-star must be in [0, {meta['seed']['num_steps']})")
    if draws < 1 or not 0 <= ddim <= t_star + 1:
        raise DataError("--num-draws must be >= 1 and --ddim-steps in [0, t* + 1]")
    return t_star, draws, ddim
