"""Results table ``exp/results.json`` (``{"rows": [...]}``) and its Markdown rendering ``results.md``.

A row is keyed by ``(system, trials)``: adding a row with the same key replaces the old one.
Rows whose ``method`` is not ``baseline`` name the ``baseline`` system to compare with on the same
trials; ``eer_rel_change`` (percent) is recomputed for every row whenever the table changes.

Verification rows carry ``eer``/``mindcf_*``. Classification rows carry a ``task`` (e.g.
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


def check_row(row: Any, path: str | os.PathLike, index: int | None = None) -> None:
    """Required fields present, metrics numeric, non-baseline rows name their baseline."""
    what = "row" if index is None else f"row {index}"
    if not isinstance(row, dict):
        raise DataError(f"{what} is not an object", path)
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


def _cell(key: str, v: Any) -> str:
    """One Markdown table cell."""
    if v is None:
        return ""
    if key in DERIVED:
        return f"{v:+.1f}%"
    if key in ("eer", "accuracy", "error_rate") and isinstance(v, (int, float)):
        return f"{v:.2f}"
    if key.startswith("mindcf") and isinstance(v, (int, float)):
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


HEADERS = {"eer": "EER (%)", "eer_rel_change": "EER rel. change", "mindcf_0.01": "minDCF 0.01",
           "mindcf_0.05": "minDCF 0.05", "accuracy": "accuracy (%)", "error_rate": "error (%)",
           "error_rel_change": "error rel. change"}


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...], numeric: tuple[str, ...]) -> list[str]:
    """One Markdown table: fixed columns, then extra fields, then ``score_file``."""
    extra: list[str] = []
    for r in rows:
        extra += [k for k in r if k not in columns and k not in DERIVED and k != "score_file" and k not in extra]
    cols = list(columns) + extra + ["score_file"]
    lines = ["| " + " | ".join(HEADERS.get(c, c) for c in cols) + " |",
             "|" + "|".join("---:" if c in numeric or c in DERIVED else "---" for c in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_cell(c, r.get(c)) for c in cols) + " |")
    return lines


def render_markdown(rows: list[dict[str, Any]]) -> str:
    """Verification rows in one Markdown table, classification rows (if any) in another."""
    sv = [r for r in rows if not is_classification(r)]
    cls = [r for r in rows if is_classification(r)]
    lines = ["# Results", ""]
    if sv or not cls:
        lines += _table(sv, COLUMNS, NUMERIC)
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
    atomic_write_text(path, json.dumps({"rows": rows}, indent=2) + "\n")
    atomic_write_text(path.with_suffix(".md"), render_markdown(rows))
    return rows
