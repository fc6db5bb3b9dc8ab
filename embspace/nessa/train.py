"""Fitting an aligner on paired training embeddings.

``linear`` / ``procrustes`` / ``logit`` are fitted in closed form; ``mlp`` is trained with the
generic :class:`embspace.training.trainer.Trainer` (speaker-balanced batches, checkpoints and exact
resumption), evaluated on a dev trial list after every epoch, stopped early when the dev metric
has not improved for ``patience`` epochs, and the best epoch is kept.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from embspace.losses.schedule import WarmupExpDecay
from embspace.nessa.aligner import Aligner, apply_numpy, load_aligner, save_aligner
from embspace.nessa.data import Pairs
from embspace.nessa.logit_space import speaker_centroids
from embspace.nessa.losses import AlignmentLoss
from embspace.nessa.mappers import fit_cca, fit_least_squares, fit_procrustes
from embspace.nessa.scoring import DevSet
from embspace.training.distributed import DistInfo
from embspace.training.sampler import SpeakerBalancedSampler
from embspace.training.trainer import Trainer, TrainerOptions

log = logging.getLogger("embspace.nessa")


@dataclass
class TrainOptions:
    """Settings of MLP training (and the ridge of the closed-form least-squares fits)."""

    loss_weights: dict[str, float] = field(default_factory=lambda: {"cosine": 1.0, "infonce": 1.0})
    temperature: float = 0.1
    positives: str = "speaker"
    epochs: int = 30
    spk_per_batch: int = 32
    utts_per_spk: int = 4
    lr: float = 1e-3
    final_lr: float = 1e-4
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    patience: int = 5
    ridge: float = 1e-3
    seed: int = 1
    num_threads: int = 1  # small networks: more threads only spin


def array_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' bytes (identifies the training data in checkpoints)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _prepared(aligner: Aligner, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    return apply_numpy(aligner, "x", pairs.x, "prepare"), apply_numpy(aligner, "y", pairs.y, "prepare")


def fit_closed_form(aligner: Aligner, pairs: Pairs, labels: Sequence[str], ridge: float = 1e-3,
                    reference: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Fit a ``linear`` (least squares; CCA for both_to_z), ``procrustes`` or ``logit`` aligner in place.

    For ``logit``, the reference rows are the speaker centroids of ``pairs`` (or ``reference``:
    e.g. classifier weights of the same speakers, one matrix per side), and the mean logit vector
    of the training utterances is subtracted.
    """
    cfg = aligner.config
    kind, direction = cfg["kind"], cfg["direction"]
    if kind == "identity":
        return
    x, y = _prepared(aligner, pairs)
    if kind == "logit":
        rx, ry = reference if reference is not None else (speaker_centroids(x, labels)[1], speaker_centroids(y, labels)[1])
        for f, r, p in ((aligner.fx, rx, x), (aligner.fy, ry, y)):
            f.set_reference(r)
            f.fit_center(torch.as_tensor(p))
        return
    if kind == "linear" and direction == "both_to_z":
        (wx, bx), (wy, by) = fit_cca(x, y, cfg["z_dim"], ridge)
        aligner.fx.set_weights(wx, bx)
        aligner.fy.set_weights(wy, by)
        return
    src, dst, module = (x, y, aligner.fx) if direction == "x_to_y" else (y, x, aligner.fy)
    if kind == "linear":
        module.set_weights(*fit_least_squares(src, dst, ridge))
    elif kind == "procrustes":
        module.set_weights(fit_procrustes(src, dst)[0])
    else:
        raise ValueError(f"mapper '{kind}' is not fitted in closed form")


class NessaNet(nn.Module):
    """``forward(x, y, labels) -> (loss, stats)`` for the generic trainer."""

    def __init__(self, aligner: Aligner, loss: AlignmentLoss) -> None:
        super().__init__()
        self.aligner, self.loss = aligner, loss

    def forward(self, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return self.loss(self.aligner("x", x), self.aligner("y", y), labels)


class EarlyStopping:
    """Epoch hook: evaluate on the dev set, save the best aligner, stop after ``patience`` epochs
    without improvement. Its state (history, best epoch) is part of the trainer's checkpoint."""

    def __init__(self, evaluate: Callable[[Aligner], dict[str, float]], best_path: Path, patience: int,
                 metric: str = "dev_eer") -> None:
        self.evaluate, self.best_path, self.patience, self.metric = evaluate, best_path, patience, metric
        self.history: list[dict[str, float]] = []
        self.best_epoch = -1

    @property
    def best(self) -> float | None:
        return self.history[self.best_epoch][self.metric] if self.best_epoch >= 0 else None

    def __call__(self, epoch: int, network: nn.Module) -> bool:
        aligner = network.aligner if isinstance(network, NessaNet) else network
        result = {k: float(v) for k, v in self.evaluate(aligner).items()}
        self.history.append({"epoch": epoch, **result})
        improved = self.best is None or result[self.metric] < self.best - 1e-9
        if improved:
            self.best_epoch = len(self.history) - 1
            save_aligner(aligner, self.best_path, {"epoch": epoch, **result})
        log.info(f"epoch {epoch}: {self.metric} {result[self.metric]:.3f}{' (best)' if improved else ''}")
        return epoch - self.history[self.best_epoch]["epoch"] >= self.patience

    def state_dict(self) -> dict:
        return {"history": [dict(h) for h in self.history], "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.history = [dict(h) for h in state["history"]]
        self.best_epoch = int(state["best_epoch"])


def train_mlp(aligner: Aligner, pairs: Pairs, labels: Sequence[str], dev: DevSet, opts: TrainOptions,
              exp_dir: str | os.PathLike) -> tuple[Aligner, dict[str, Any]]:
    """Train an ``mlp`` aligner; returns the best aligner on ``dev`` and a summary (dev history).

    The linear skip of an ``x_to_y`` / ``y_to_x`` MLP starts at the ridge least-squares map and the
    last layer at zero, so epoch 0 (evaluated too) is the linear mapper and training learns a residual.
    Rerunning with the same data and options resumes from ``<exp_dir>/models/checkpoint_latest.pt``.
    """
    if opts.num_threads > 0:
        torch.set_num_threads(opts.num_threads)
    torch.manual_seed(opts.seed)
    cfg = aligner.config
    speakers = sorted(set(labels))
    spk2id = {s: i for i, s in enumerate(speakers)}
    label_ids = np.array([spk2id[s] for s in labels], dtype=np.int64)
    if cfg["direction"] != "both_to_z" and cfg["linear_skip"]:
        src, dst = _prepared(aligner, pairs)
        if cfg["direction"] == "y_to_x":
            src, dst = dst, src
        aligner.side_map("x" if cfg["direction"] == "x_to_y" else "y").skip.set_weights(
            fit_least_squares(src, dst, opts.ridge)[0])
    loss = AlignmentLoss(opts.loss_weights, cfg["z_dim"], len(speakers), opts.temperature, opts.positives)
    network = NessaNet(aligner, loss)
    sampler = SpeakerBalancedSampler(label_ids, min(opts.spk_per_batch, len(speakers)), opts.utts_per_spk, seed=opts.seed)
    x, y, lab = torch.as_tensor(pairs.x), torch.as_tensor(pairs.y), torch.as_tensor(label_ids)

    def loader_fn(epoch: int, start: int):
        sampler.set_epoch(epoch, start)
        for batch in sampler:
            idx = torch.as_tensor([i for i, _ in batch])
            yield x[idx], y[idx], lab[idx]

    exp_dir = Path(exp_dir)
    best_path = exp_dir / "models" / "best.pt"
    stopper = EarlyStopping(dev.evaluate, best_path, opts.patience)
    optimizer = torch.optim.AdamW(network.parameters(), lr=0.0, weight_decay=opts.weight_decay)
    lr = WarmupExpDecay(opts.lr, opts.final_lr, opts.warmup_epochs, opts.epochs, len(sampler))
    config = {"aligner": cfg, "train": asdict(opts), "data": array_digest(pairs.x, pairs.y, label_ids),
              "dev": array_digest(dev.pairs.x, dev.pairs.y, np.array([t[2] for t in dev.trials]))}
    trainer = Trainer(network, optimizer, loader_fn, len(sampler), lr.lr_at, exp_dir,
                      DistInfo(rank=0, local_rank=0, world_size=1, device=torch.device("cpu")),
                      TrainerOptions(epochs=opts.epochs, log_every=0, keep_last=1),
                      export_fn=lambda net: {"model": net.aligner.state_dict()}, config=config, epoch_hook=stopper)
    if not trainer.latest_path.is_file():  # a fresh run: epoch 0 (the initial map) is a candidate too
        stopper(0, network)
    trainer.fit()
    best, _ = load_aligner(best_path)
    summary = {"best_epoch": int(stopper.history[stopper.best_epoch]["epoch"]), "epochs_run": trainer.epoch,
               "stopped_early": trainer.stopped, "dev_history": stopper.history}
    return best, summary
