"""Bootstrap intervals of every method row of a results file (comparisons.json, results.md, forest plot)."""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.report import compute_comparisons, load_rows, write_comparisons
from embspace.utils.errors import DataError


def read_utt2spk(paths: list[str]) -> dict[str, str]:
    """Merged utt2spk tables (a side listed twice with two speakers is an error). A file whose lines
    name several utterances is a profiles file (``<profile> <utt> <utt>...``, NESSA's enrollment
    profiles): each profile is its utterances' speaker, from the tables given before it."""
    from embspace.data.tables import read_table

    out: dict[str, str] = {}
    for path in paths:
        for key, value in read_table(path).items():
            values = [value] if isinstance(value, str) else value
            speakers = {out.get(v, "?") for v in values} if len(values) > 1 else set(values)
            if len(speakers) != 1 or "?" in speakers:
                raise DataError(f"'{key}': its utterances have no single known speaker (give their utt2spk first)", path)
            spk = speakers.pop()
            if out.setdefault(key, spk) != spk:
                raise DataError(f"'{key}' is '{spk}' here but '{out[key]}' in an earlier utt2spk", path)
    return out


def run_intervals(results: str, utt2spk: list[str], resamples: int, seed: int, forest_png: str | None) -> None:
    """Intervals of every method row -> comparisons.json + results.md (+ a forest plot); notes on stderr."""
    if not Path(results).is_file():
        raise DataError("file not found", results)
    rows = load_rows(results)
    comparisons, notes = compute_comparisons(rows, read_utt2spk(utt2spk), resamples, seed)
    for note in notes:
        print(f"report: {note}", file=sys.stderr)
    write_comparisons(results, comparisons)
    if forest_png and comparisons:
        from embspace.scoring.det import plot_forest

        plot_forest([{"label": f"{c['system']} vs {c['baseline']} ({c['trials']}; "
                               + (f"{c['training_runs']} seeds)" if c.get("training_runs", 1) > 1 else "1 run)"),
                      "change": c["rel_change"],
                      "low": c["ci_low"], "high": c["ci_high"], "significant": c["significant"]} for c in comparisons],
                    forest_png, "EER change over the baseline")
    n_sig = sum(c["significant"] for c in comparisons)
    print(f"report: {len(comparisons)} intervals ({n_sig} significant) -> "
          f"{Path(results).with_name('comparisons.json')}", file=sys.stderr)
