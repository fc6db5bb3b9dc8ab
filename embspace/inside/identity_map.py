"""A PCA map of real speakers and synthetic identities, each identity linked to its parents
(``embspace.bin.inside_map``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.inside.identities import Identity, read_identities
from embspace.inside.synthesis import read_record
from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def identity_points(idents: list[Identity], cond: np.ndarray, synth_dir: str | None, encoder: str,
                    use_targets: bool) -> tuple[np.ndarray, int]:
    """Each identity's centroid of its synthesised utterances' cached embeddings, else (or with
    ``use_targets``) its conditioning vector; and how many are measured centroids."""
    cents, measured = [], 0
    for ident, c in zip(idents, cond):
        rec = read_record(synth_dir, ident.id) if synth_dir and not use_targets else None
        cache = Path(synth_dir or ".") / f"emb.{encoder}" / f"{ident.id}.{rec['key']}.npy" if rec else None
        if cache is not None and cache.is_file():
            cents.append(np.load(cache).mean(axis=0))
            measured += 1
        else:
            cents.append(np.asarray(c, dtype=np.float64).reshape(-1))
    return np.stack(cents), measured


def pca_2d(real: np.ndarray, syn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of the unit-length rows of both sets, split back."""
    x = _unit(np.concatenate([real, syn]).astype(np.float64))
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    return xy[: len(real)], xy[len(real):]


def draw_map(real_ids: list[str], genders: dict[str, str], idents: list[Identity], r: np.ndarray, s: np.ndarray,
             title: str, out: str) -> None:
    """The PNG: real speakers (dots) and identities (crosses) by gender, lines to the parents."""
    index = {k: i for i, k in enumerate(real_ids)}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colour = {"m": "tab:blue", "f": "tab:red"}
    fig, ax = plt.subplots(figsize=(7, 6), dpi=120)
    for ident, (px, py) in zip(idents, s):
        for parent in (ident.parent_a, ident.parent_b):
            if parent in index:
                qx, qy = r[index[parent]]
                ax.plot([px, qx], [py, qy], color="0.75", lw=0.5, zorder=1)
    for g in ("m", "f"):
        sel = [i for i, k in enumerate(real_ids) if genders.get(k) == g]
        ax.scatter(r[sel, 0], r[sel, 1], s=22, c=colour[g], label=f"real {g}", zorder=3)
        sel = [i for i, ident in enumerate(idents) if ident.gender == g]
        ax.scatter(s[sel, 0], s[sel, 1], s=22, c=colour[g], marker="x", label=f"INSIDE {g}", zorder=2)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def identity_map(real_spk_scp: str, spk2gender: str, identities: str, synth_dir: str | None, encoder: str,
                 use_targets: bool, title: str, out: str) -> tuple[int, int, int]:
    """Read, place and draw; returns (real speakers, identities, identities at measured centroids)."""
    real_ids, real = read_embeddings(real_spk_scp)
    genders = read_table(spk2gender)
    idents, cond = read_identities(identities)
    syn, measured = identity_points(idents, cond, synth_dir, encoder, use_targets)
    if syn.shape[1] != real.shape[1]:
        raise DataError(f"identities are {syn.shape[1]}-dim, real speakers {real.shape[1]}-dim: not one space",
                        identities)
    r, s = pca_2d(real, syn)
    draw_map(real_ids, genders, idents, r, s, title, out)
    return len(real_ids), len(idents), measured
