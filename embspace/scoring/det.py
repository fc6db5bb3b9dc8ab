"""DET plots on normal-deviate (probit) axes, NIST style, and forest plots of relative changes,
drawn with matplotlib's Agg canvas. Each PNG names what it shows in its ``Description`` text chunk
(JSON: the curves or rows, in order), so that tests and scripts can check a plot without pixels."""

from __future__ import annotations

import json
import os
from typing import Mapping, Sequence

import numpy as np

from embspace.utils.atomic import atomic_path

LINESTYLES = ("-", "--", "-.", ":")
SYMLOG_ABOVE, SYMLOG_LINEAR = 200.0, 20.0  # forest plots: symmetric-log x axis when an interval reaches past 200 %
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


def _save(fig, out_png: str | os.PathLike, shown: Sequence[str]) -> None:
    """Write ``fig`` atomically, naming what it shows in the PNG's Description chunk."""
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", metadata={"Description": json.dumps(list(shown))})


def score_file_curves(files: Mapping[str, str | os.PathLike]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """DET curves (miss, false-alarm rates) of named score files; DataError for a file without both
    target and non-target trials."""
    from embspace.scoring.metrics import det_curve, read_scores
    from embspace.utils.errors import DataError

    curves = {}
    for name, path in files.items():
        s, y = read_scores(path)
        n_tgt = int(y.sum())
        if n_tgt == 0 or n_tgt == len(y):
            raise DataError(f"need both target and non-target trials, got {n_tgt} and {len(y) - n_tgt}", path)
        curves[name] = det_curve(s, y)[:2]
    return curves


def plot_det(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], out_png: str | os.PathLike,
             title: str | None = None, legend_outside: bool = False) -> None:
    """Draw ``{name: (pmiss, pfa)}`` DET curves (with EER points) into ``out_png`` atomically.

    Curves cycle through line styles as well as colours; ``legend_outside`` puts the legend below
    the axes, clear of the curves."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 7.2 if legend_outside else 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    eps = 1e-9
    for i, (name, (pmiss, pfa)) in enumerate(curves.items()):
        pmiss = np.asarray(pmiss, dtype=np.float64)
        pfa = np.asarray(pfa, dtype=np.float64)
        eer = _eer_point(pmiss, pfa)
        x, y = decimate(probit(np.clip(pfa, eps, 1 - eps)), probit(np.clip(pmiss, eps, 1 - eps)))
        (line,) = ax.plot(x, y, linewidth=1.5, linestyle=LINESTYLES[i % len(LINESTYLES)],
                          label=f"{name} (EER {eer * 100:.2f}%)")
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
    if curves and legend_outside:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize="small", ncol=1, frameon=False)
    elif curves:
        ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    _save(fig, out_png, list(curves))


def plot_forest(items: Sequence[Mapping], out_png: str | os.PathLike, title: str | None = None) -> None:
    """Forest plot: one row per ``{"label", "change", "low", "high", "significant"}`` (percent), the
    point with its interval, a line at 0; rows whose interval contains 0 drawn hollow and grey."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not items:
        raise ValueError("a forest plot needs at least one row")
    fig = Figure(figsize=(11, 1.4 + 0.35 * len(items)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ys = np.arange(len(items))[::-1]
    for y, it in zip(ys, items):
        colour = "tab:blue" if it["significant"] else "gray"
        ax.plot([it["low"], it["high"]], [y, y], color=colour, linewidth=2)
        ax.plot([it["change"]], [y], "o", color=colour, markerfacecolor=colour if it["significant"] else "white")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(ys, [str(it["label"]) for it in items])
    spread = max(max(abs(it["low"]), abs(it["high"])) for it in items)
    if spread > SYMLOG_ABOVE:  # a few huge changes would squash the rest onto the 0 line
        ax.set_xscale("symlog", linthresh=SYMLOG_LINEAR)
    lo, hi = min(it["low"] for it in items), max(it["high"] for it in items)
    ax.set_xlim(max(lo, -100.0) - 10.0, hi + max(10.0, abs(hi) * 0.3))  # a change is never below -100 %
    ax.set_xlabel("EER change (%), 95 % interval; hollow: contains 0"
                  + (f" (log axis beyond ±{SYMLOG_LINEAR:g})" if spread > SYMLOG_ABOVE else ""))
    ax.set_ylim(-0.7, len(items) - 0.3)
    ax.grid(True, axis="x", linestyle="--", linewidth=0.5)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save(fig, out_png, [str(it["label"]) for it in items])
