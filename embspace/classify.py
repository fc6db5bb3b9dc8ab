"""A light utterance classifier: multinomial logistic regression on fixed utterance features.

Features (e.g. utterance embeddings of a frozen speaker encoder: a "2-way head" on an SV backbone)
are standardised with the training set's statistics; the regression with an L2 penalty is fitted by
full-batch L-BFGS (deterministic). Used for gender classification in INSIDE, but knows nothing of
genders: labels are strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from embspace.utils.errors import DataError


@dataclass
class LogisticClassifier:
    """Standardisation + weights of a fitted multinomial logistic regression."""

    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    weight: np.ndarray
    bias: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, labels: Sequence[str], l2: float = 1e-2, max_iter: int = 200) -> "LogisticClassifier":
        """Fit on ``(N, F)`` features; ``l2`` weighs the squared weights (per example)."""
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise DataError(f"need at least two classes to train a classifier, got {classes}")
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        xt = torch.from_numpy(((x - mean) / std).astype(np.float64))
        y = torch.tensor([classes.index(v) for v in labels])
        w = torch.zeros(x.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
        b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ w + b, y) + l2 * (w ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return cls(classes, mean, std, w.detach().numpy(), b.detach().numpy())

    def predict(self, x: np.ndarray) -> list[str]:
        """Most probable class of each row."""
        scores = ((x - self.mean) / self.std) @ self.weight + self.bias
        return [self.classes[i] for i in scores.argmax(axis=1)]


def error_rate(predicted: Sequence[str], truth: Sequence[str]) -> float:
    """Share of wrong predictions, in percent."""
    if len(predicted) != len(truth) or not truth:
        raise DataError("predictions and labels differ in number or are empty")
    return 100.0 * float(np.mean([p != t for p, t in zip(predicted, truth)]))
