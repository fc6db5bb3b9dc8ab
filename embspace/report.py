"""Results table ``exp/results.json`` (``{"rows": [...]}``) and its Markdown rendering ``results.md``.

A row is keyed by ``(system, trials)``: adding a row with the same key replaces the old one.
Rows whose ``method`` is not ``baseline`` name the ``baseline`` system to compare with on the same
trials; ``eer_rel_change`` (percent) is recomputed for every row whenever the table changes.

Verification rows carry ``eer``/``mindcf_*``. A row may carry per-seed results instead,
``seeds: [{"seed": 1, "eer": ..., "mindcf_0.01": ..., "mindcf_0.05": ..., "score_file": ...}, ...]``;
its ``eer``/``mindcf_*`` are then the means over seeds, ``<metric>_std`` the (population) standard
deviations, and ``score_file`` the first seed's.

``comparisons.json`` beside ``results.json`` (written by ``embspace.bin.report --intervals``) holds
each method row's bootstrap interval of ``eer_rel_change`` (:mod:`embspace.scoring.bootstrap`) and
the smallest detectable change (``detectable_change`` in EER points, ``detectable_rel_change`` in percent
of the baseline's EER: 80 % power at the 5 % level); results.md shows them only while the EERs and
score files they were computed from are unchanged.

Classification rows carry a ``task`` (e.g.
``gender``; anything but ``verification``), ``accuracy`` and ``error_rate`` (both percent) and get
``error_rel_change`` against their baseline; they are rendered in a table of their own, and their
``trials`` names the evaluation list.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError
from embspace.utils.provenance import machine, source_commit

REQUIRED = ("system", "method", "trials", "eer", "mindcf_0.01", "mindcf_0.05", "score_file")
NUMERIC = ("eer", "mindcf_0.01", "mindcf_0.05")
COLUMNS = ("system", "method", "baseline", "trials", "eer", "eer_rel_change", "mindcf_0.01", "mindcf_0.05")
CLS_REQUIRED = ("system", "method", "task", "trials", "accuracy", "error_rate")
CLS_NUMERIC = ("accuracy", "error_rate")
CLS_COLUMNS = ("system", "method", "baseline", "task", "trials", "accuracy", "error_rate", "error_rel_change")
DERIVED = ("eer_rel_change", "error_rel_change")


def is_classification(row: Mapping[str, Any]) -> bool:
    """A classification row (``task`` set and not ``verification``)."""
    return row.get("task", "verification") != "verification"


def load_rows(results_json: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of an existing results file; ``[]`` when it does not exist."""
    path = Path(results_json)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"not valid JSON: {e}", path) from e
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise DataError('expected {"rows": [...]}', path)
    for i, row in enumerate(data["rows"]):
        check_row(row, path, i)
    return data["rows"]


def load_written_by(results_json: str | os.PathLike) -> list[dict[str, str]]:
    """``[{"commit", "machine"}]``: who wrote rows into the file (``[]`` for files from before that was kept)."""
    path = Path(results_json)
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return [w for w in data.get("written_by", []) if isinstance(w, dict)] if isinstance(data, dict) else []


def _check_seeds(row: dict, what: str, path: str | os.PathLike) -> None:
    """``seeds`` is a non-empty list of per-seed results with distinct seeds, numeric metrics, score files."""
    runs = row["seeds"]
    if not isinstance(runs, list) or not runs:
        raise DataError(f"{what}: seeds must be a non-empty list of per-seed results", path, key=row.get("system"))
    seen = set()
    for j, run in enumerate(runs):
        if not isinstance(run, dict) or not isinstance(run.get("seed"), int) or isinstance(run.get("seed"), bool):
            raise DataError(f"{what}: seeds[{j}] needs an integer 'seed'", path, key=row.get("system"))
        if run["seed"] in seen:
            raise DataError(f"{what}: seed {run['seed']} given twice", path, key=row.get("system"))
        seen.add(run["seed"])
        for f in NUMERIC:
            v = run.get(f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise DataError(f"{what}: seeds[{j}].{f} must be a finite number, got {v!r}", path, key=row.get("system"))
        if not run.get("score_file"):
            raise DataError(f"{what}: seeds[{j}] lacks score_file", path, key=row.get("system"))


def summarize_seeds(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` whose metrics are the means over its ``seeds`` (with ``<metric>_std``)."""
    out = dict(row)
    runs = row["seeds"]
    for f in NUMERIC:
        values = [float(r[f]) for r in runs]
        mean = sum(values) / len(values)
        out[f] = round(mean, 6)
        out[f"{f}_std"] = round(math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)), 6)
    out.setdefault("score_file", runs[0]["score_file"])
    return out


def check_row(row: Any, path: str | os.PathLike, index: int | None = None) -> None:
    """Required fields present, metrics numeric, non-baseline rows name their baseline."""
    what = "row" if index is None else f"row {index}"
    if not isinstance(row, dict):
        raise DataError(f"{what} is not an object", path)
    if "seeds" in row:
        _check_seeds(row, what, path)
    required, numeric = (CLS_REQUIRED, CLS_NUMERIC) if is_classification(row) else (REQUIRED, NUMERIC)
    missing = [f for f in required if row.get(f) in (None, "")]
    if missing:
        raise DataError(f"{what} lacks {', '.join(missing)}", path, key=row.get("system"))
    for f in numeric:
        v = row[f]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DataError(f"{what}: {f} must be a finite number, got {v!r}", path, key=row["system"])
        if f in CLS_NUMERIC and not 0.0 <= v <= 100.0:
            raise DataError(f"{what}: {f} is a percentage, got {v!r}", path, key=row["system"])
    if row["method"] != "baseline" and not row.get("baseline"):
        raise DataError(f"{what}: method '{row['method']}' needs a 'baseline' field naming the system "
                        "to compare with", path, key=row["system"])


def update_rel_change(rows: list[dict[str, Any]]) -> None:
    """Set ``eer_rel_change`` = 100 * (eer - baseline eer) / baseline eer (``error_rel_change`` from
    ``error_rate`` for classification rows) where the baseline row exists."""
    by_key = {(r["system"], r["trials"]): r for r in rows}
    for r in rows:
        for f in DERIVED:
            r.pop(f, None)
        base = by_key.get((r.get("baseline"), r["trials"])) if r.get("baseline") else None
        if base is None or base is r or is_classification(base) != is_classification(r):
            continue
        metric, field = ("error_rate", "error_rel_change") if is_classification(r) else ("eer", "eer_rel_change")
        if base[metric] > 0:
            r[field] = round(100.0 * (r[metric] - base[metric]) / base[metric], 2)
    for r in rows:
        _update_seed_gain(r, by_key)


def symmetric_rows(row: Mapping[str, Any], by_key: Mapping[tuple[str, str], dict]) -> tuple[dict | None, dict | None]:
    """The rows of a NESSA row's old system (its baseline) and new system (the other of ``enroll``/``runtime``)
    on its trial list; None where absent."""
    new_name = ({row["enroll"], row["runtime"]} - {row.get("baseline")} or {None}).pop()
    return by_key.get((row.get("baseline"), row["trials"])), by_key.get((new_name, row["trials"]))


def _update_seed_gain(row: dict[str, Any], by_key: Mapping[tuple[str, str], dict]) -> None:
    """``gain_fraction`` of a NESSA row with seeds (``enroll``/``runtime``), from its mean EER over seeds
    and the EERs of the two symmetric systems on its list (rows without seeds carry the evaluation's G)."""
    from embspace.nessa.scoring import gain_fraction

    if not row.get("seeds") or row.get("method") != "nessa" or not {"enroll", "runtime"} <= set(row):
        return
    row.pop("gain_fraction", None)
    old, new = symmetric_rows(row, by_key)
    if old is not None and new is not None:
        g = gain_fraction(old["eer"], new["eer"], row["eer"])
        if g is not None:
            row["gain_fraction"] = round(g, 4)


def score_files(row: Mapping[str, Any]) -> list[str]:
    """The score files of a row: one per seed, or its ``score_file``."""
    if row.get("seeds"):
        return [str(r["score_file"]) for r in row["seeds"]]
    return [str(row["score_file"])] if row.get("score_file") else []


def comparison_signature(row: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """What an interval was computed from: both rows' EERs and score files."""
    return {"eer": row["eer"], "baseline_eer": base["eer"], "score_files": score_files(row),
            "baseline_score_files": score_files(base)}


def comparisons_path(results_json: str | os.PathLike) -> Path:
    """``comparisons.json`` beside ``results.json``."""
    return Path(results_json).with_name("comparisons.json")


def load_comparisons(results_json: str | os.PathLike) -> list[dict[str, Any]]:
    """The intervals stored beside ``results_json`` (``[]`` when none)."""
    path = comparisons_path(results_json)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["comparisons"]
        if not all({"system", "trials", "signature"} <= set(c) for c in items):
            raise KeyError("an entry lacks system, trials or signature")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataError(f'expected {{"comparisons": [{{"system", "trials", "signature", ...}}]}}: {e}', path) from None
    return items


def current_comparisons(rows: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> dict[tuple[str, str], dict]:
    """``{(system, trials): comparison}`` of the intervals still valid for ``rows``."""
    by_key = {(r["system"], r["trials"]): r for r in rows}
    out = {}
    for c in comparisons:
        row = by_key.get((c["system"], c["trials"]))
        base = by_key.get((row.get("baseline"), row["trials"])) if row else None
        if row is not None and base is not None and c["signature"] == comparison_signature(row, base):
            out[(c["system"], c["trials"])] = c
    return out


def _detectable_cell(comparison: Mapping[str, Any] | None) -> str:
    """``0.52 (17.0%)``: the smallest detectable EER change in points and relative to the baseline."""
    if comparison is None or comparison.get("detectable_change") is None:
        return ""
    rel = comparison.get("detectable_rel_change")
    return f"{comparison['detectable_change']:.2f}" + (f" ({rel:.1f}%)" if rel is not None else "")


def gain_cell(v: Any, comparison: Mapping[str, Any] | None) -> str:
    """NESSA's G, with its 95 % interval over test speakers when one was computed: ``0.67 [0.37, 0.87]``."""
    if v is None:
        return ""
    if comparison is None or "gain_ci_low" not in comparison or comparison.get("gain_fraction") != v:
        return _cell("gain_fraction", v)
    return f"{v:.2f} [{comparison['gain_ci_low']:.2f}, {comparison['gain_ci_high']:.2f}]"


def training_runs(row: Mapping[str, Any]) -> int:
    """How many times a row's system was trained: its per-seed runs, or 1 (a row without seeds, or whose
    seeds are evaluation seeds of one trained model: ``eval_seeds``)."""
    return 1 if "eval_seeds" in row else max(1, len(row.get("seeds") or []))


def _change_cell(v: float, comparison: Mapping[str, Any] | None) -> str:
    """``-18.9% [-28.5, -9.1]``, ``n.s.`` appended when the interval contains 0, ``(1 run)`` when the
    method was trained once (its interval covers the test speakers, not a retraining)."""
    if comparison is None:
        return f"{v:+.1f}%"
    cell = f"{v:+.1f}% [{comparison['ci_low']:+.1f}, {comparison['ci_high']:+.1f}]"
    cell = cell if comparison["significant"] else cell + " n.s."
    return cell + " (1 run)" if comparison.get("training_runs", 1) == 1 else cell


def _cell(key: str, v: Any, row: Mapping[str, Any] | None = None) -> str:
    """One Markdown table cell."""
    if v is None:
        return ""
    if key == "seeds" and isinstance(v, list):
        return ",".join(str(r.get("seed")) for r in v if isinstance(r, dict))
    if key in NUMERIC and row is not None and f"{key}_std" in row and isinstance(v, (int, float)):
        return f"{_cell(key, v)} ± {_cell(key, row[f'{key}_std'])}"
    if key in DERIVED:
        return f"{v:+.1f}%"
    if key in ("eer", "accuracy", "error_rate") and isinstance(v, (int, float)):
        return f"{v:.2f}"
    if key.startswith("mindcf") and isinstance(v, (int, float)):
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


#: the column of the smallest detectable change (shown beside ``eer_rel_change`` when intervals exist)
DETECTABLE = "detectable_change"
HEADERS = {"eer": "EER (%)", "eer_rel_change": "EER rel. change", DETECTABLE: "detectable change", "mindcf_0.01": "minDCF 0.01",
           "mindcf_0.05": "minDCF 0.05", "accuracy": "accuracy (%)", "error_rate": "error (%)",
           "error_rel_change": "error rel. change"}


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...], numeric: tuple[str, ...],
           intervals: Mapping[tuple[str, str], dict] | None = None) -> list[str]:
    """One Markdown table: fixed columns, then extra fields, then ``score_file``."""
    intervals = intervals or {}
    hidden = {f"{f}_std" for f in numeric}  # shown as mean ± std
    extra: list[str] = []
    for r in rows:
        extra += [k for k in r if k not in columns and k not in DERIVED and k != "score_file" and k not in extra
                  and k not in hidden]
    cols = list(columns) + extra + ["score_file"]
    if intervals and "eer_rel_change" in cols:
        cols.insert(cols.index("eer_rel_change") + 1, DETECTABLE)
    right = set(numeric) | set(DERIVED) | {DETECTABLE}
    lines = ["| " + " | ".join(HEADERS.get(c, c) for c in cols) + " |",
             "|" + "|".join("---:" if c in right else "---" for c in cols) + "|"]
    for r in rows:
        comparison = intervals.get((r["system"], r["trials"]))
        cells = [_change_cell(r[c], comparison) if c == "eer_rel_change" and c in r
                 else _detectable_cell(comparison) if c == DETECTABLE
                 else gain_cell(r.get(c), comparison) if c == "gain_fraction"
                 else _cell(c, r.get(c), r) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(rows: list[dict[str, Any]], comparisons: list[dict[str, Any]] | None = None) -> str:
    """Verification rows in one Markdown table, classification rows (if any) in another.

    ``comparisons`` (still valid ones) add the 95 % interval to ``eer_rel_change``."""
    sv = [r for r in rows if not is_classification(r)]
    cls = [r for r in rows if is_classification(r)]
    intervals = current_comparisons(sv, comparisons or [])
    lines = ["# Results", ""]
    if sv or not cls:
        lines += _table(sv, COLUMNS, NUMERIC, intervals)
    if intervals:
        c = next(iter(intervals.values()))
        lines += ["", f"EER rel. change: [95 % interval] from {c.get('resamples', '?')} bootstrap resamples of the "
                  "test speakers (and of the seeds, for rows with several); n.s.: the interval contains 0; "
                  "(1 run): the method was trained once, so the interval says nothing about retraining it "
                  "(run with --seeds for that). "
                  "Detectable change: the smallest EER change (EER points, and relative to the baseline's EER) "
                  "this evaluation detects with 80 % power at the 5 % level, 2.80 x the bootstrap standard "
                  "error of the EER difference. "
                  "EER and minDCF of rows with seeds: mean ± std over seeds."]
    if cls:
        lines += ([""] if sv else []) + ["## Classification", ""] + _table(cls, CLS_COLUMNS, CLS_NUMERIC)
    return "\n".join(lines) + "\n"


def add_row(results_json: str | os.PathLike, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add (or replace by ``(system, trials)``) a row, then rewrite results.json and results.md."""
    return add_rows(results_json, [row])


def add_rows(results_json: str | os.PathLike, new_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Add (or replace by ``(system, trials)``) several rows in order; results.json and results.md are
    rewritten once, after every row was checked."""
    path = Path(results_json)
    checked = []
    for row in new_rows:
        new = dict(row)
        if new.get("method") == "baseline":
            new.setdefault("baseline", None)
        if "seeds" in new:
            _check_seeds(new, "row", path)
            new = summarize_seeds(new)
        check_row(new, path)
        checked.append(new)
    rows = load_rows(path)
    index = {(r["system"], r["trials"]): i for i, r in enumerate(rows)}
    for new in checked:
        key = (new["system"], new["trials"])
        if key in index:
            rows[index[key]] = new
        else:
            index[key] = len(rows)
            rows.append(new)
    update_rel_change(rows)
    writers = load_written_by(path)
    me = {"commit": source_commit(), "machine": machine()}
    writers += [] if me in writers else [me]
    atomic_write_text(path, json.dumps({"rows": rows, "written_by": writers}, indent=2) + "\n")
    atomic_write_text(path.with_suffix(".md"), render_markdown(rows, load_comparisons(path)))
    return rows


def write_comparisons(results_json: str | os.PathLike, comparisons: list[dict[str, Any]]) -> None:
    """Store intervals in ``comparisons.json`` and re-render results.md with them."""
    path = Path(results_json)
    rows = load_rows(path)
    atomic_write_text(comparisons_path(path), json.dumps({"comparisons": comparisons}, indent=1) + "\n")
    atomic_write_text(path.with_suffix(".md"), render_markdown(rows, comparisons))


def _rounded(v: float) -> float | None:
    """``v`` to 3 decimals; ``None`` (JSON null) when it is not a number."""
    return round(v, 3) if math.isfinite(v) else None


def compute_comparisons(rows: list[dict[str, Any]], utt2spk: Mapping[str, str], num_resamples: int = 1000,
                        seed: int = 0) -> tuple[list[dict[str, Any]], list[str]]:
    """Bootstrap intervals of every verification row that has a baseline row on its trial list.

    Returns the comparisons and one note per row left out (a score file whose trials have no
    speaker in ``utt2spk``). Score file paths are taken relative to the current directory.
    """
    from embspace.scoring.bootstrap import compare_files

    by_key = {(r["system"], r["trials"]): r for r in rows if not is_classification(r)}
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    for (system, trials), row in by_key.items():
        base = by_key.get((row.get("baseline"), trials)) if row.get("baseline") else None
        if base is None or base is row:
            continue
        try:
            comp, num_speakers = compare_files(score_files(row), score_files(base), utt2spk, num_resamples, seed)
        except DataError as e:
            if "no speaker in the utt2spk" not in str(e):
                raise
            notes.append(f"{system} on {trials}: no interval ({e})")
            continue
        out.append({"system": system, "trials": trials, "baseline": base["system"], "method": row["method"],
                    "rel_change": round(comp.rel_change, 3), "ci_low": round(comp.ci_low, 3),
                    "ci_high": round(comp.ci_high, 3), "significant": comp.significant,
                    "diff_se": _rounded(comp.diff_se), "detectable_change": _rounded(comp.detectable_change),
                    "detectable_rel_change": _rounded(comp.detectable_rel_change), "power": comp.power,
                    "seeds": [r["seed"] for r in row.get("seeds", [])], "training_runs": training_runs(row),
                    "resamples": comp.num_resamples,
                    "bootstrap_seed": seed, "test_speakers": num_speakers,
                    "signature": comparison_signature(row, base), **_gain_interval(row, by_key, utt2spk, num_resamples, seed)})
    return out, notes


def _gain_interval(row: Mapping[str, Any], by_key: Mapping[tuple[str, str], dict], utt2spk: Mapping[str, str],
                   num_resamples: int, seed: int) -> dict[str, float]:
    """NESSA rows (``gain_fraction``, ``enroll``/``runtime`` naming the old and new systems): G's interval."""
    from embspace.scoring.bootstrap import gain_interval_files

    if row.get("gain_fraction") is None or not {"enroll", "runtime"} <= set(row):
        return {}
    old, new = symmetric_rows(row, by_key)
    if old is None or new is None or not (score_files(row) and old.get("score_file") and new.get("score_file")):
        return {}
    try:
        out = gain_interval_files(score_files(row), old["score_file"], new["score_file"], utt2spk, num_resamples, seed)
    except ValueError:
        return {}
    return {**out, "gain_fraction": row["gain_fraction"], "gain_new_score_file": new["score_file"]}
