"""Data expansion: text sources for synthesis, and real + synthetic training cuts (union or a mixing ratio)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from embspace.data.tables import iter_lines, iter_raw_lines
from embspace.utils.errors import DataError

if TYPE_CHECKING:
    from lhotse import CutSet

TEXT_FORMATS = ("lines", "kaldi")


def load_texts(source: str, language: str = "en", fmt: str = "lines") -> list[str]:
    """Sentences to synthesise: ``builtin`` (the corpus prompts of ``language``), a file with one
    sentence per line (``lines``) or a Kaldi ``text`` file (``kaldi``: ``<utt> <words...>``).
    Duplicates are dropped (first occurrence kept, order preserved)."""
    if source == "builtin":
        from embspace.corpus.sentences import SENTENCES

        if language not in SENTENCES:
            raise DataError(f"no built-in sentences for language '{language}' (have {', '.join(SENTENCES)})",
                            key=language)
        texts = list(SENTENCES[language])
    else:
        if fmt not in TEXT_FORMATS:
            raise DataError(f"unknown text format (choose from {', '.join(TEXT_FORMATS)})", key=fmt)
        path = Path(source)
        if not path.is_file():
            raise DataError("text source not found", path)
        texts = []
        for n, line in iter_raw_lines(path):
            if fmt == "kaldi":
                parts = line.split(maxsplit=1)
                if len(parts) == 1:
                    raise DataError("expected '<utt> <text>'", path, n, parts[0])
                line = parts[1] if parts else ""
            if line.strip():
                texts.append(" ".join(line.split()))
    texts = list(dict.fromkeys(texts))
    if not texts:
        raise DataError("no sentences in the text source", source)
    return texts


def combine_cuts(real: "CutSet", synthetic: "CutSet", mix_ratio: float | None = None, seed: int = 0,
                 real_path: object = None, synthetic_path: object = None) -> tuple["CutSet", dict]:
    """Real cuts plus synthetic ones: all of them (``mix_ratio`` None: the union), or as many synthetic
    utterances as make ``mix_ratio`` of the result (chosen at random, seeded; more than there are is an
    error). A speaker or cut id present in both sets is an error naming it."""
    from lhotse import CutSet

    real_spk = {c.supervisions[0].speaker for c in real}
    syn = list(synthetic)
    for c in syn:
        if c.supervisions[0].speaker in real_spk:
            raise DataError("synthetic speaker id is also a real speaker id", synthetic_path, key=c.supervisions[0].speaker)
    real_ids = {c.id for c in real}
    for c in syn:
        if c.id in real_ids:
            raise DataError("synthetic cut id is also a real cut id", synthetic_path, key=c.id)
    n_real = len(real_ids)
    if mix_ratio is not None:
        if not 0.0 <= mix_ratio < 1.0:
            raise DataError(f"mix ratio must be in [0, 1), got {mix_ratio}", key="mix_ratio")
        want = int(round(mix_ratio * n_real / (1.0 - mix_ratio)))
        if want > len(syn):
            raise DataError(f"mix ratio {mix_ratio} needs {want} synthetic utterances, only {len(syn)} exist",
                            synthetic_path, key="mix_ratio")
        pick = np.sort(np.random.default_rng(seed).permutation(len(syn))[:want])
        syn = [syn[i] for i in pick]
    combined = CutSet.from_cuts(list(real) + syn)
    summary = {"real_utterances": n_real, "real_speakers": len(real_spk), "synthetic_utterances": len(syn),
               "synthetic_speakers": len({c.supervisions[0].speaker for c in syn}),
               "synthetic_fraction": round(len(syn) / max(1, n_real + len(syn)), 4)}
    return combined, summary


def read_speaker_list(path: str | os.PathLike) -> list[str]:
    """Speaker ids, one per line (first field)."""
    p = Path(path)
    if not p.is_file():
        raise DataError("speaker list not found", p)
    ids = [fields[0] for _, fields in iter_lines(p)]
    if not ids:
        raise DataError("empty speaker list", p)
    return ids
