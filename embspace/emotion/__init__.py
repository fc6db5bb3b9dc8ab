"""Emotion-invariant speaker embeddings (Tian, Hu, Xu 2025; spec: docs of the emotion issue).

Three components, each switched on in the ``emotion:`` section of a training YAML
(:mod:`embspace.emotion.config`), all on top of one sampler of parallel pairs
(:mod:`embspace.emotion.pairs`: an anchor and a partner crop of one speaker, differing in emotion):

* **CopyPaste** parallel samples: the partner joins a neutral piece and an emotional piece of the
  same speaker (:mod:`embspace.emotion.copypaste`; schemes, order, piece lengths, cross-fade).
* **ERL** loss: AAM-softmax on every crop plus ``weight`` x mean(1 - cos) over the pairs, the
  ``parallel_cosine`` term of ``embspace.losses.extra`` (it receives the batch's pair indices).
* **Emotion-aware masking**: hide the frames of highest RMS energy of the partner, on the
  features or on the waveform (:mod:`embspace.emotion.masking`).

Trial lists (neutral/neutral, neutral enrollment vs each emotion, merged) come from
:mod:`embspace.emotion.trials`; the style check (can the emotions be told apart?) from
:mod:`embspace.emotion.stylecheck`.
"""

from __future__ import annotations

import logging
from typing import Sequence

from lhotse.cut import Cut

from embspace.emotion.config import CopyPasteOptions, EMOptions, EmotionOptions, ERLOptions, emotion_options
from embspace.emotion.pairs import ParallelPairDataset, Selection, collate_pairs, emotion_of, select_cuts
from embspace.losses.extra import ExtraLoss, build_extra_losses

__all__ = [
    "CopyPasteOptions", "EMOptions", "ERLOptions", "EmotionOptions", "ParallelPairDataset", "Selection",
    "build_pair_dataset", "collate_pairs", "emotion_of", "emotion_options", "erl_terms", "select_cuts",
]

log = logging.getLogger("embspace.emotion")


def build_pair_dataset(cuts: Sequence[Cut], opts: EmotionOptions, num_frames: int, source: str = "cuts") -> ParallelPairDataset:
    """The parallel-pair dataset over the usable cuts (what was skipped is logged with counts)."""
    sel = select_cuts(cuts, opts, source)
    log.info(f"emotion pairs ({opts.components}): {sel.summary()}")
    speakers = sorted({c.supervisions[0].speaker for c in sel.cuts})
    return ParallelPairDataset(sel, {s: i for i, s in enumerate(speakers)}, num_frames, opts)


def erl_terms(opts: EmotionOptions) -> list[tuple[str, float, ExtraLoss]]:
    """The ERL cosine term for the trainer's extra-loss hook (none when ERL is off)."""
    if not opts.erl.enable:
        return []
    return build_extra_losses([{"name": "parallel_cosine", "weight": opts.erl.weight, "form": opts.erl.form,
                                "stop_grad_anchor": opts.erl.stop_grad_anchor}])
