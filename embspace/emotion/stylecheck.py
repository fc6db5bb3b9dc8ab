"""Are the emotional styles real? A small emotion classifier on utterance-level acoustic descriptors,
trained on some speakers and tested on others.

Descriptors of a log-mel matrix (:func:`utterance_descriptors`): the per-bin mean and standard
deviation (spectral shape: tilt, breathiness, level), and the frame-energy contour (mean, spread,
percentiles, share of low-energy "pause" frames, the spread of its frame-to-frame change, the spectral
centroid's mean and spread): level, pauses, dynamics and brightness. The classifier is multinomial
logistic regression on standardised descriptors (L2, LBFGS). ``speaker_normalise`` subtracts each
speaker's mean descriptor (no label is used), so that what is left is the within-speaker change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def utterance_descriptors(feats: np.ndarray) -> np.ndarray:
    """A fixed-length vector describing one utterance's log-mel features ``[T, F]``."""
    x = np.asarray(feats, dtype=np.float64)
    peak = x.max(axis=1, keepdims=True)
    energy = peak[:, 0] + np.log(np.exp(x - peak).sum(axis=1))  # log of the summed mel power
    power = np.exp(x - peak)
    centroid = (power * np.arange(x.shape[1])).sum(axis=1) / power.sum(axis=1)
    loud = energy > np.percentile(energy, 10) + 0.5 * (np.percentile(energy, 90) - np.percentile(energy, 10))
    contour = [energy.mean(), energy.std(), *np.percentile(energy, [10, 50, 90]), 1.0 - loud.mean(),
               np.diff(energy).std() if len(energy) > 1 else 0.0, centroid[loud].mean() if loud.any() else 0.0,
               centroid[loud].std() if loud.any() else 0.0]
    return np.concatenate([x.mean(axis=0), x.std(axis=0), contour]).astype(np.float32)


def speaker_normalise(x: np.ndarray, speakers: list[str]) -> np.ndarray:
    """Each row minus the mean row of its speaker."""
    out = np.array(x, dtype=np.float64, copy=True)
    spk = np.asarray(speakers)
    for s in np.unique(spk):
        sel = spk == s
        out[sel] -= out[sel].mean(axis=0)
    return out.astype(np.float32)


@dataclass
class StyleCheck:
    """Accuracy of the classifier on held-out speakers, chance level and the confusion matrix."""

    classes: list[str]
    accuracy: float
    chance: float
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    num_train: int
    num_test: int

    def to_json(self) -> dict:
        return {"classes": self.classes, "accuracy": round(self.accuracy, 4), "chance": round(self.chance, 4),
                "confusion": self.confusion, "num_train": self.num_train, "num_test": self.num_test}


def train_and_test(x_train: np.ndarray, y_train: list[str], x_test: np.ndarray, y_test: list[str],
                   l2: float = 1e-2, seed: int = 0) -> StyleCheck:
    """Fit multinomial logistic regression on the training rows, report it on the test rows."""
    classes = sorted(set(y_train))
    unknown = sorted(set(y_test) - set(classes))
    if unknown:
        raise ValueError(f"test classes not seen in training: {', '.join(unknown)}")
    cls = {c: i for i, c in enumerate(classes)}
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-6
    xt = torch.tensor((x_train - mu) / sd, dtype=torch.float64)
    yt = torch.tensor([cls[c] for c in y_train])
    torch.manual_seed(seed)
    lin = torch.nn.Linear(xt.shape[1], len(classes)).double()
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(xt), yt) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = lin(torch.tensor((x_test - mu) / sd, dtype=torch.float64)).argmax(dim=1).numpy()
    truth = np.array([cls[c] for c in y_test])
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(confusion, (truth, pred), 1)
    counts = np.bincount(truth, minlength=len(classes))
    return StyleCheck(classes, float((pred == truth).mean()), float(counts.max() / counts.sum()),
                      confusion.tolist(), len(y_train), len(y_test))
