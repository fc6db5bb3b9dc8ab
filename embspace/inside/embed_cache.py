"""Embeddings of the synthesised utterances that the INSIDE filters compare, cached per identity in
``<synth_dir>/emb.<tag>/<id>.<key>.npy`` (``tag``: the encoder; ``key``: what the identity's audio was
made from), so that a rerun embeds only identities synthesised anew."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embspace.inside.synthesis import read_record
from embspace.utils.atomic import atomic_path

_EMBEDDER = {}


def _embed_identity(job: tuple[str, list[str], str]) -> None:
    """Embed one identity's wavs and cache them at ``job[2]`` (runs in a worker process)."""
    import soundfile as sf
    import torch as _torch

    from embspace.extract import WaveformEmbedder

    encoder, wavs, path = job
    _torch.set_num_threads(1)
    if encoder not in _EMBEDDER:
        _EMBEDDER[encoder] = WaveformEmbedder(encoder)
    e = _EMBEDDER[encoder]([sf.read(w, dtype="float32")[0] for w in wavs])
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, e, allow_pickle=False)


def synthetic_embeddings(entries: list[dict], synth_dir: Path, encoder: str, nj: int = 1) -> np.ndarray:
    """Embeddings of every entry's audio, cached per identity in ``<synth_dir>/emb.<tag>/<id>.<key>.npy``
    (``key`` names what the identity's audio was made from), computed by ``nj`` processes."""
    tag = encoder if encoder == "ge2e" else hashlib.sha256(Path(encoder).read_bytes()).hexdigest()[:12]
    cache = synth_dir / f"emb.{tag}"
    by_spk: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        by_spk.setdefault(e["speaker"], []).append(i)
    paths = {spk: cache / f"{spk}.{read_record(synth_dir, spk)['key']}.npy" for spk in by_spk}
    todo = [(encoder, [str(synth_dir / entries[i]["path"]) for i in by_spk[spk]], str(paths[spk]))
            for spk in by_spk if not paths[spk].is_file()]
    for spk in by_spk:  # stale caches of an identity id that was re-synthesised from other inputs
        for old in cache.glob(f"{spk}.*.npy"):
            if old != paths[spk]:
                old.unlink()
    if todo:
        cache.mkdir(parents=True, exist_ok=True)
        if nj > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(nj) as pool:
                list(tqdm(pool.imap_unordered(_embed_identity, todo), total=len(todo), desc="embed", mininterval=10,
                          file=sys.stderr))
        else:
            for job in tqdm(todo, desc="embed", mininterval=10, file=sys.stderr):
                _embed_identity(job)
    out: list[np.ndarray | None] = [None] * len(entries)
    for spk, idx in by_spk.items():
        e = np.load(paths[spk], allow_pickle=False)
        for j, i in enumerate(idx):
            out[i] = e[j]
    return np.stack(out)
