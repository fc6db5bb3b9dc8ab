"""DET plots on normal-deviate (probit) axes, NIST style, drawn with matplotlib's Agg canvas."""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from embspace.utils.atomic import atomic_path

TICKS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
LIMITS = (0.0005, 0.6)


def probit(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (scipy if installed, else torch)."""
    p = np.asarray(p, dtype=np.float64)
    try:
        from scipy.special import ndtri
    except ImportError:
        import torch

        return torch.special.ndtri(torch.from_numpy(np.ascontiguousarray(p))).numpy()
    return ndtri(p)


def decimate(x: np.ndarray, y: np.ndarray, cells: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Keep the points of a monotone curve that move to a new cell of a ``cells`` x ``cells`` grid."""
    if len(x) <= 2 * cells:
        return x, y
    lo, hi = probit(np.array(LIMITS))
    q = np.floor((np.stack([x, y]) - lo) / (hi - lo) * cells)
    keep = np.concatenate([[True], (np.diff(q, axis=1) != 0).any(axis=0)])
    keep[-1] = True
    return x[keep], y[keep]


def _eer_point(pmiss: np.ndarray, pfa: np.ndarray) -> float:
    """Interpolated ``pmiss == pfa`` crossing of a curve with rising pmiss."""
    d = pmiss - pfa
    i = int(np.clip(np.searchsorted(d, 0.0), 1, len(d) - 1))
    if d[i] == d[i - 1]:
        return float(pmiss[i])
    a = -d[i - 1] / (d[i] - d[i - 1])
    return float(pmiss[i - 1] + a * (pmiss[i] - pmiss[i - 1]))


def plot_det(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], out_png: str | os.PathLike,
             title: str | None = None) -> None:
    """Draw ``{name: (pmiss, pfa)}`` DET curves (with EER points) into ``out_png`` atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    eps = 1e-9
    for name, (pmiss, pfa) in curves.items():
        pmiss = np.asarray(pmiss, dtype=np.float64)
        pfa = np.asarray(pfa, dtype=np.float64)
        eer = _eer_point(pmiss, pfa)
        x, y = decimate(probit(np.clip(pfa, eps, 1 - eps)), probit(np.clip(pmiss, eps, 1 - eps)))
        (line,) = ax.plot(x, y, linewidth=1.5, label=f"{name} (EER {eer * 100:.2f}%)")
        e = probit(np.clip([eer], eps, 1 - eps))[0]
        ax.plot([e], [e], "o", color=line.get_color(), markersize=6, markeredgecolor="black")
    lo, hi = probit(np.array(LIMITS))
    ticks = probit(np.array(TICKS))
    labels = [f"{t * 100:g}" for t in TICKS]
    ax.plot([lo, hi], [lo, hi], ":", color="gray", linewidth=0.8)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_ticks(ticks, labels)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("False alarm probability (%)")
    ax.set_ylabel("Miss probability (%)")
    ax.set_aspect("equal")
    ax.grid(True, linestyle="--", linewidth=0.5)
    if title:
        ax.set_title(title)
    if curves:
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png")
