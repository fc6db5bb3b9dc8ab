"""A PCA map (PNG) of real speakers and synthetic identities, with each identity linked to its parents.

    python -m embspace.bin.inside_map --real-spk-scp exp/ge2e/embeddings/train/spk_xvector.scp \
        --spk2gender data/train/spk2gender --identities exp/inside/nn_x1/identities \
        --synth-dir exp/inside/synth/nn --encoder ge2e --out exp/inside/map.png

Synthetic identities are placed at the centroid of their synthesised utterances' embeddings (the
cache that inside_make_data wrote for ``--encoder``); identities without one (or ``--use-targets``)
are placed at their conditioning vector, which must then live in the same space as the real ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from embspace.cli.args import add_bool, cli_parser
from embspace.data.tables import read_table
from embspace.embio import read_embeddings
from embspace.inside.identities import read_identities
from embspace.inside.synthesis import read_record
from embspace.utils.atomic import atomic_path
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_map", __doc__)
    p.add_argument("--real-spk-scp", required=True, help="real speakers' mean embeddings")
    p.add_argument("--spk2gender", required=True, help="genders of the real speakers")
    p.add_argument("--identities", required=True, help="folder with identities.jsonl and conditioning.npy")
    p.add_argument("--synth-dir", help="synthesis folder whose emb.<encoder>/ cache gives the identities' centroids")
    p.add_argument("--encoder", default="ge2e", help="encoder tag of the embedding cache (default ge2e)")
    add_bool(p, "--use-targets", False, "place identities at their conditioning vectors")
    p.add_argument("--title", default="INSIDE identities (PCA)", help="plot title")
    p.add_argument("--out", required=True, help="PNG to write")
    return p


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    real_ids, real = read_embeddings(args.real_spk_scp)
    genders = read_table(args.spk2gender)
    idents, cond = read_identities(args.identities)
    cents, measured = [], 0
    for ident, c in zip(idents, cond):
        rec = read_record(args.synth_dir, ident.id) if args.synth_dir and not args.use_targets else None
        cache = Path(args.synth_dir or ".") / f"emb.{args.encoder}" / f"{ident.id}.{rec['key']}.npy" if rec else None
        if cache is not None and cache.is_file():
            cents.append(np.load(cache).mean(axis=0))
            measured += 1
        else:
            cents.append(np.asarray(c, dtype=np.float64).reshape(-1))
    syn = np.stack(cents)
    if syn.shape[1] != real.shape[1]:
        raise DataError(f"identities are {syn.shape[1]}-dim, real speakers {real.shape[1]}-dim: not one space",
                        args.identities)
    x = _unit(np.concatenate([real, syn]).astype(np.float64))
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    r, s = xy[: len(real)], xy[len(real):]
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
    ax.set_title(args.title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
    print(f"inside_map: {len(real_ids)} real speakers, {len(idents)} identities ({measured} at measured centroids) "
          f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
