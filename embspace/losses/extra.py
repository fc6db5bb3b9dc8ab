"""Optional extra loss terms added to the classification loss: ``total = cls + sum(w_i * term_i)``.

A term is ``term(embeddings, labels) -> scalar``, or, for terms registered with ``needs_pairs=True``,
``term(embeddings, labels, pairs) -> scalar`` where ``pairs`` is a ``(K, 2)`` LongTensor of batch
positions (e.g. the anchor and partner of parallel samples; see ``embspace.emotion``). A training
config lists terms as ``extra_losses: [{name: ..., weight: ..., <keyword options of the term>}]``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import torch
import torch.nn.functional as F

ExtraLoss = Callable[..., torch.Tensor]


def same_speaker_cosine(emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos`` over all same-speaker pairs in the batch (0 when there are none)."""
    e = F.normalize(emb.float(), dim=-1)
    sim = e @ e.t()
    same = labels[:, None] == labels[None, :]
    same &= ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    if not same.any():
        return emb.sum() * 0.0
    return (1.0 - sim[same]).mean()


def parallel_cosine(emb: torch.Tensor, labels: torch.Tensor, pairs: torch.Tensor, form: str = "one_minus_cos",
                    stop_grad_anchor: bool = False) -> torch.Tensor:
    """Mean over ``pairs`` of ``1 - cos(e_a, e_p)`` (``form=one_minus_cos``) or ``(1 - cos)^2``
    (``mse_to_1``); ``stop_grad_anchor`` detaches the first member of each pair. 0 without pairs."""
    if form not in ("one_minus_cos", "mse_to_1"):
        raise ValueError(f"parallel_cosine: unknown form '{form}' (one_minus_cos or mse_to_1)")
    if pairs.numel() == 0:
        return emb.sum() * 0.0
    a, p = emb[pairs[:, 0]].float(), emb[pairs[:, 1]].float()
    if stop_grad_anchor:
        a = a.detach()
    d = 1.0 - F.cosine_similarity(a, p, dim=-1)
    return (d if form == "one_minus_cos" else d * d).mean()


EXTRA_LOSSES: dict[str, ExtraLoss] = {"same_speaker_cosine": same_speaker_cosine, "parallel_cosine": parallel_cosine}
PAIR_LOSSES: set[str] = {"parallel_cosine"}  # terms called with the batch's pairs as third argument


def register_extra_loss(name: str, fn: ExtraLoss, needs_pairs: bool = False) -> None:
    """Add a term by name (``needs_pairs``: it takes ``(embeddings, labels, pairs)``)."""
    if name in EXTRA_LOSSES:
        raise ValueError(f"extra loss '{name}' is already registered")
    EXTRA_LOSSES[name] = fn
    if needs_pairs:
        PAIR_LOSSES.add(name)


def needs_pairs(term: ExtraLoss) -> bool:
    """Whether a term built by :func:`build_extra_losses` wants the batch's pairs."""
    return bool(getattr(term, "needs_pairs", False))


def build_extra_losses(cfg: list[dict] | None) -> list[tuple[str, float, ExtraLoss]]:
    """``[{"name": ..., "weight": ..., **options}, ...]`` -> ``[(name, weight, fn)]``; unknown names or
    options are errors. ``fn`` has the options bound and ``fn.needs_pairs`` set."""
    terms = []
    for item in cfg or []:
        item = dict(item)
        name = item.pop("name", None)
        weight = float(item.pop("weight", 1.0))
        if name not in EXTRA_LOSSES:
            raise ValueError(f"unknown extra loss '{name}' (known: {', '.join(sorted(EXTRA_LOSSES))})")
        fn = EXTRA_LOSSES[name]
        params = list(inspect.signature(fn).parameters)[3 if name in PAIR_LOSSES else 2:]
        unknown = sorted(set(item) - set(params))
        if unknown:
            raise ValueError(f"unknown option(s) for extra loss '{name}': {', '.join(unknown)} "
                             f"(allowed: {', '.join(params) or 'none'})")
        term = functools.partial(fn, **item)
        term.needs_pairs = name in PAIR_LOSSES
        terms.append((name, weight, term))
    return terms
