"""SEED: diffusion-based enhancement of speaker embeddings (Nam et al., Interspeech 2025).

A small x0-predicting denoiser, trained without speaker labels on pairs (embedding of an
augmented copy → embedding of the clean utterance) from a frozen extractor, regenerates every
embedding before scoring: noise to t* (50 of 1000), one network evaluation.
"""

from embspace.seed.checkpoint import check_dim, load_seed_model, model_meta
from embspace.seed.config import SeedConfig, config_from_dict, load_config
from embspace.seed.data import CopyPlan, copy_key, dev_set, parse_copy_key, plan_copies, training_pairs
from embspace.seed.enhance import Enhancer, enhance_table, keyed_noise
from embspace.seed.model import SeedMLP, timestep_embedding
from embspace.seed.schedule import NoiseSchedule, scaled_linear_alphas_cumprod
from embspace.seed.train import SeedObjective, build_objective

__all__ = ["CopyPlan", "Enhancer", "NoiseSchedule", "SeedConfig", "SeedMLP", "SeedObjective", "build_objective", "check_dim",
           "config_from_dict", "copy_key", "dev_set", "enhance_table", "keyed_noise", "load_config",
           "load_seed_model", "model_meta", "parse_copy_key", "plan_copies", "scaled_linear_alphas_cumprod",
           "timestep_embedding", "training_pairs"]
