"""NESSA: align the embedding spaces of separately trained enrollment and runtime speaker models.

A light mapper (least squares, orthogonal Procrustes, or an MLP) puts embeddings of model X and
model Y into one space, trained on embeddings of the same labelled utterances from both frozen
models; the baseline is cosine scoring in a shared speaker-logit space. See
``docs/nessa.md`` for the method and its options.
"""

from embspace.nessa.aligner import (DIRECTIONS, KINDS, Aligner, aligner_config, apply_numpy, load_aligner,
                                    save_aligner)
from embspace.nessa.data import Pairs, check_dim, load_pairs, pair_up, profile_rows, read_profiles
from embspace.nessa.logit_space import LogitMap, classifier_reference, speaker_centroids
from embspace.nessa.losses import AlignmentLoss, cosine_loss, infonce_loss, mse_loss
from embspace.nessa.mappers import MLP, Affine, fit_cca, fit_least_squares, fit_procrustes
from embspace.nessa.scoring import (PROFILE_MODES, DevProfiles, DevSet, choose_profile_mode, embed_side, gain_fraction,
                                   score_sides)
from embspace.nessa.train import EarlyStopping, TrainOptions, fit_closed_form, train_mlp

__all__ = [
    "DIRECTIONS", "KINDS", "PROFILE_MODES", "Affine", "Aligner", "AlignmentLoss", "DevProfiles", "DevSet", "choose_profile_mode", "EarlyStopping", "LogitMap",
    "MLP", "Pairs", "TrainOptions", "aligner_config", "apply_numpy", "check_dim", "classifier_reference", "cosine_loss",
    "embed_side", "fit_cca", "fit_closed_form", "fit_least_squares", "fit_procrustes", "gain_fraction", "infonce_loss",
    "load_aligner", "load_pairs", "mse_loss", "pair_up", "profile_rows", "read_profiles", "save_aligner", "score_sides",
    "speaker_centroids", "train_mlp",
]
