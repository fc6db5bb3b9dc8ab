"""The conditioning network of the espeak backend: speaker embedding -> espeak-ng voice.

A small MLP maps an L2-normalised speaker embedding (in the space of a chosen encoder, GE2E by
default) to a :class:`embspace.inside.espeak_voice.VoiceCode`: a distribution over the shipped
voice variants ("anchors"; soft cross-entropy against the blend weights the voice was made
with), the accent voice (cross-entropy) and the speaker traits (standardised, mean squared error).
The voice is the blend of the ``blend_top`` most probable anchors with their renormalised
probabilities as weights, so the output moves continuously between variants. It is trained on
random voices rendered and embedded with that encoder: it learns to invert "voice -> embedding",
the role a TTS's speaker encoder and its conditioning layers play in a neural TTS.

Training is full-batch AdamW for a fixed number of epochs; ``dev_fraction`` of the voices are held
out and the epoch with the lowest dev loss is kept (selection never looks at real speakers).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from embspace.inside.espeak_voice import ACCENTS, TRAITS, VoiceCode, VoiceSpec, parse_variant
from embspace.training import checkpoint as ckpt
from embspace.utils.errors import DataError


@dataclass
class CondNetOptions:
    """Size and training of the conditioning network."""

    hidden: int = 256
    layers: int = 2
    dropout: float = 0.2
    epochs: int = 300
    lr: float = 3e-3
    weight_decay: float = 1e-2
    dev_fraction: float = 0.1
    blend_top: int = 2
    seed: int = 0


class CondNet(nn.Module):
    """MLP: embedding -> (anchor logits, accent logits, standardised traits)."""

    def __init__(self, in_dim: int, num_anchors: int, hidden: int = 256, layers: int = 2, dropout: float = 0.2):
        super().__init__()
        dims = [in_dim] + [hidden] * layers
        body: list[nn.Module] = []
        for a, b in zip(dims, dims[1:]):
            body += [nn.Linear(a, b), nn.GELU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*body)
        self.anchor = nn.Linear(dims[-1], num_anchors)
        self.accent = nn.Linear(dims[-1], len(ACCENTS))
        self.traits = nn.Linear(dims[-1], len(TRAITS))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.anchor(h), self.accent(h), self.traits(h)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised (float32); a zero or non-finite row is a DataError."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    if not np.all(np.isfinite(x)) or np.any(n == 0):
        raise DataError("embedding is zero or not finite")
    return x / n


def code_targets(codes: Sequence[VoiceCode], anchor_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(N, A)`` anchor weights, ``(N,)`` accent indices, ``(N, T)`` traits of ``codes``."""
    index = {a: i for i, a in enumerate(anchor_names)}
    w = np.zeros((len(codes), len(anchor_names)), dtype=np.float32)
    for n, c in enumerate(codes):
        total = sum(c.anchors.values())
        for a, v in c.anchors.items():
            w[n, index[a]] += v / total
    acc = np.array([ACCENTS.index(c.accent) for c in codes], dtype=np.int64)
    traits = np.array([[c.traits[t] for t in TRAITS] for c in codes], dtype=np.float64)
    return w, acc, traits


class VoiceMapper:
    """A trained :class:`CondNet` with its anchors and standardisation: ``mapper(embedding) -> VoiceSpec``."""

    def __init__(self, net: CondNet, anchors: dict[str, str], mean: np.ndarray, std: np.ndarray, meta: dict[str, Any]):
        self.net, self.mean, self.std, self.meta = net.eval(), mean, std, meta
        self.anchor_names = list(anchors)
        self.anchor_text = dict(anchors)  # variant name -> variant file text (the mapper is self-contained)
        self.anchors = {a: parse_variant(t, a) for a, t in anchors.items()}
        self.in_dim = int(meta["in_dim"])
        self.blend_top = int(meta.get("blend_top", 2))

    @torch.inference_mode()
    def codes(self, emb: np.ndarray) -> list[VoiceCode]:
        """Voice codes for ``(N, D)`` (or one ``(D,)``) embeddings."""
        x = unit_rows(emb)
        if x.shape[1] != self.in_dim:
            raise DataError(f"the conditioning network takes {self.in_dim}-dim embeddings "
                            f"({self.meta.get('encoder')}), got {x.shape[1]}")
        logits, acc, traits = self.net(torch.from_numpy(x))
        prob = torch.softmax(logits, dim=1).numpy().astype(np.float64)
        traits = traits.numpy().astype(np.float64) * self.std + self.mean
        out = []
        for p, a, t in zip(prob, acc.argmax(1).tolist(), traits):
            top = np.argsort(-p, kind="stable")[: self.blend_top]
            out.append(VoiceCode({self.anchor_names[i]: float(p[i] / p[top].sum()) for i in top}, ACCENTS[a],
                                 dict(zip(TRAITS, t.tolist()))))
        return out

    def predict(self, emb: np.ndarray) -> list[VoiceSpec]:
        """Voices for ``(N, D)`` embeddings."""
        return [c.realise(self.anchors) for c in self.codes(emb)]

    def __call__(self, emb: np.ndarray) -> VoiceSpec:
        return self.predict(np.asarray(emb).reshape(1, -1))[0]

    def save(self, path: str | os.PathLike) -> None:
        """Weights, anchors, standardisation and metadata (plain types: loads with weights_only)."""
        ckpt.save({"model": self.net.state_dict(), "anchors": self.anchor_text, "mean": torch.from_numpy(self.mean),
                   "std": torch.from_numpy(self.std), "meta": self.meta}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "VoiceMapper":
        """A mapper saved by :meth:`save`."""
        state = ckpt.load(path)
        if not {"model", "anchors", "mean", "std", "meta"} <= set(state):
            raise DataError("not a conditioning-network file (needs model, anchors, mean, std, meta)", path)
        meta = state["meta"]
        if list(meta.get("traits", [])) != list(TRAITS) or list(meta.get("accents", [])) != list(ACCENTS):
            raise DataError("conditioning network made for another voice space; retrain it", path)
        net = CondNet(int(meta["in_dim"]), len(state["anchors"]), int(meta["hidden"]), int(meta["layers"]),
                      float(meta["dropout"]))
        net.load_state_dict(state["model"])
        return cls(net, state["anchors"], state["mean"].numpy(), state["std"].numpy(), meta)


def train_condnet(emb: np.ndarray, codes: Sequence[VoiceCode], anchors: dict[str, str], opts: CondNetOptions,
                  meta: dict[str, Any] | None = None, groups: np.ndarray | None = None) -> tuple[VoiceMapper, dict[str, float]]:
    """Fit the network on ``N`` examples: embeddings ``(N, D)`` and the codes of their voices; ``anchors``
    maps every variant a code may use to its variant-file text; ``groups`` (default: one per example)
    names the voice of each example, so that the dev split holds out whole voices. Returns the mapper
    and a summary (losses and dev accuracies/R^2)."""
    x = unit_rows(emb)
    n = x.shape[0]
    if len(codes) != n:
        raise DataError(f"{n} embeddings but {len(codes)} voice codes")
    if n < 10:
        raise DataError(f"need at least 10 rendered voices to train the conditioning network, got {n}")
    names = list(anchors)
    w, acc, traits = code_targets(codes, names)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    uniq = np.unique(groups)
    g = torch.Generator().manual_seed(opts.seed)
    perm = uniq[torch.randperm(len(uniq), generator=g).numpy()]
    dev_groups = perm[:max(1, int(round(opts.dev_fraction * len(uniq))))]
    is_dev = np.isin(groups, dev_groups)
    dev, tr = np.flatnonzero(is_dev), np.flatnonzero(~is_dev)
    mean = traits[tr].mean(axis=0)
    std = traits[tr].std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    torch.manual_seed(opts.seed)
    net = CondNet(x.shape[1], len(names), opts.hidden, opts.layers, opts.dropout)
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=max(1, opts.epochs))
    X, W = torch.from_numpy(x), torch.from_numpy(w)
    A, T = torch.from_numpy(acc), torch.from_numpy(((traits - mean) / std).astype(np.float32))

    def losses(idx: np.ndarray) -> dict[str, torch.Tensor]:
        lo, la, lt = net(X[idx])
        return {"anchor": -(W[idx] * torch.log_softmax(lo, 1)).sum(1).mean(),
                "accent": nn.functional.cross_entropy(la, A[idx]), "traits": ((lt - T[idx]) ** 2).mean(),
                "anchor_acc": (lo.argmax(1) == W[idx].argmax(1)).float().mean(),
                "accent_acc": (la.argmax(1) == A[idx]).float().mean()}

    def total(d: dict[str, torch.Tensor]) -> torch.Tensor:
        return d["anchor"] + d["accent"] + d["traits"]

    best: tuple[float, dict | None, int] = (float("inf"), None, -1)
    for epoch in range(opts.epochs):
        net.train()
        optim.zero_grad()
        total(losses(tr)).backward()
        optim.step()
        sched.step()
        net.eval()
        with torch.no_grad():
            dev_loss = float(total(losses(dev)))
        if dev_loss < best[0]:
            best = (dev_loss, {k: v.clone() for k, v in net.state_dict().items()}, epoch)
    net.load_state_dict(best[1])
    net.eval()
    with torch.no_grad():
        d, t = losses(dev), losses(tr)
    meta = {**(meta or {}), **asdict(opts), "in_dim": int(x.shape[1]), "traits": list(TRAITS),
            "accents": list(ACCENTS), "num_voices": int(n)}
    summary = {"best_epoch": best[2], "train_loss": round(float(total(t)), 4), "dev_loss": round(float(total(d)), 4),
               "dev_anchor_acc": round(float(d["anchor_acc"]), 4), "dev_accent_acc": round(float(d["accent_acc"]), 4),
               "dev_traits_r2": round(1.0 - float(d["traits"]), 4), "num_train": int(len(tr)), "num_dev": int(len(dev))}
    return VoiceMapper(net, anchors, mean, std.astype(np.float64), meta), summary
