"""INSIDE filter embeddings (embspace.inside.embed_cache): cached per identity and input key, so a
rerun embeds only identities synthesised anew; stale caches of a re-synthesised identity go."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from embspace.inside import embed_cache


def _identity(synth: Path, ident: str, key: str, n: int = 2) -> list[dict]:
    rng = np.random.default_rng(abs(hash(ident)) % 1000)
    (synth / "wav" / ident).mkdir(parents=True, exist_ok=True)
    (synth / "records").mkdir(exist_ok=True)
    utts = []
    for u in range(n):
        path = f"wav/{ident}/{ident}-u{u:03d}.wav"
        sf.write(synth / path, (0.1 * rng.standard_normal(4000)).astype(np.float32), 16000)
        utts.append({"speaker": ident, "path": path})
    (synth / "records" / f"{ident}.json").write_text(json.dumps({"key": key, "utts": utts}))
    return utts


def test_embeddings_are_cached_per_identity_and_key(tmp_path, monkeypatch):
    calls = []

    class Fake:
        def __init__(self, encoder: str) -> None:
            pass

        def __call__(self, wavs):
            calls.append(len(wavs))
            return np.stack([[float(np.abs(w).mean()), float(len(w))] for w in wavs]).astype(np.float32)

    monkeypatch.setattr("embspace.extract.WaveformEmbedder", Fake)
    monkeypatch.setattr(embed_cache, "_EMBEDDER", {})
    entries = _identity(tmp_path, "id1", "k1") + _identity(tmp_path, "id2", "k2", 3)
    first = embed_cache.synthetic_embeddings(entries, tmp_path, "ge2e")
    assert first.shape == (5, 2) and calls == [2, 3]
    assert np.array_equal(embed_cache.synthetic_embeddings(entries, tmp_path, "ge2e"), first) and calls == [2, 3]
    entries = entries[:2] + _identity(tmp_path, "id2", "k3", 3)  # id2 made again from other inputs
    embed_cache.synthetic_embeddings(entries, tmp_path, "ge2e")
    assert calls == [2, 3, 3]
    assert sorted(p.name for p in (tmp_path / "emb.ge2e").iterdir()) == ["id1.k1.npy", "id2.k3.npy"]
