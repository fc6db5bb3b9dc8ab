"""DET plots of score files, of a results file's rows, and of each method against its baseline."""

from __future__ import annotations

import os
from pathlib import Path

from embspace.report import load_rows
from embspace.utils.errors import DataError


def verification_rows(results: str) -> list[dict]:
    """The rows of ``results`` with verification scores (classification rows, ``task``, have none)."""
    return [r for r in load_rows(results) if "task" not in r]


def det_inputs_from_results(results: str, trials: str) -> dict[str, str]:
    """``{system: score file}`` of every verification row of ``results`` on ``trials``, in the table's order.

    Every score file must exist (relative paths are taken from the current directory, the recipe dir).
    """
    rows = [r for r in verification_rows(results) if r["trials"] == trials]
    if not rows:
        known = sorted({r["trials"] for r in verification_rows(results)})
        raise DataError(f"no row for trials '{trials}' (trial lists there: {', '.join(known) or 'none'})", results)
    scores = {r["system"]: r["score_file"] for r in rows if r.get("score_file")}
    for system, path in scores.items():
        if not Path(path).is_file():
            raise DataError(f"score file of system '{system}' not found: {path} (taken relative to the current "
                            "directory, the recipe dir)", results, key=system)
    return scores


def det_curves(scores: dict[str, str]) -> dict[str, tuple]:
    """DET curves of ``{name: score file}``, each file checked to hold both kinds of trial."""
    from embspace.scoring.det import score_file_curves

    return score_file_curves(scores)


def plot_curves(curves: dict[str, tuple], png: str | Path, title: str | None) -> None:
    """One DET plot of :func:`det_curves` (matplotlib is imported only here)."""
    from embspace.scoring.det import plot_det

    plot_det(curves, png, title)


def plot_comparison_dets(results: str, trials: str, out_dir: Path) -> list[Path]:
    """``det_<trials>.png``: the baseline systems of the list (every system when none is a baseline);
    ``det_<trials>__<system>.png``: each method row with its baseline. Returns the files written."""
    from embspace.scoring.det import plot_det

    scores = det_inputs_from_results(results, trials)
    rows = [r for r in verification_rows(results) if r["trials"] == trials and r["system"] in scores]
    bases = [r["system"] for r in rows if r["method"] == "baseline"] or [r["system"] for r in rows]
    curves = det_curves({s: scores[s] for s in bases})
    written = [out_dir / f"det_{trials}.png"]
    plot_det(curves, written[0], f"{trials}: baselines", legend_outside=True)
    for r in rows:
        base = r.get("baseline")
        if r["method"] == "baseline" or base not in scores:
            continue
        name = f"{r['system']} (seed {r['seeds'][0]['seed']})" if r.get("seeds") else r["system"]
        pair = {base: curves[base] if base in curves else det_curves({base: scores[base]})[base],
                name: det_curves({r["system"]: scores[r["system"]]})[r["system"]]}
        written.append(out_dir / f"det_{trials}__{r['system'].replace(os.sep, '_')}.png")
        plot_det(pair, written[-1], f"{trials}: {r['system']} vs {base}", legend_outside=True)
    return written


def plot_every_list(results: str, out_dir: str) -> tuple[list[Path], list[str]]:
    """:func:`plot_comparison_dets` of every trial list of ``results`` with score files: (files, lists)."""
    lists = sorted({r["trials"] for r in verification_rows(results) if r.get("score_file")})
    if not lists:
        raise DataError("no rows with score files", results)
    return [p for trials in lists for p in plot_comparison_dets(results, trials, Path(out_dir))], lists
