"""Results table ``exp/results.json`` (``{"rows": [...]}``) and its Markdown rendering ``results.md``.

A row is keyed by ``(system, trials)``: adding a row with the same key replaces the old one.
Rows whose ``method`` is not ``baseline`` name the ``baseline`` system to compare with on the same
trials; ``eer_rel_change`` (percent) is recomputed for every row whenever the table changes.
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
    missing = [f for f in REQUIRED if row.get(f) in (None, "")]
    if missing:
        raise DataError(f"{what} lacks {', '.join(missing)}", path, key=row.get("system"))
    for f in NUMERIC:
        v = row[f]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise DataError(f"{what}: {f} must be a finite number, got {v!r}", path, key=row["system"])
    if row["method"] != "baseline" and not row.get("baseline"):
        raise DataError(f"{what}: method '{row['method']}' needs a 'baseline' field naming the system "
                        "to compare with", path, key=row["system"])


def update_rel_change(rows: list[dict[str, Any]]) -> None:
    """Set ``eer_rel_change`` = 100 * (eer - baseline eer) / baseline eer where the baseline row exists."""
    by_key = {(r["system"], r["trials"]): r for r in rows}
    for r in rows:
        r.pop("eer_rel_change", None)
        base = by_key.get((r.get("baseline"), r["trials"])) if r.get("baseline") else None
        if base is not None and base is not r and base["eer"] > 0:
            r["eer_rel_change"] = round(100.0 * (r["eer"] - base["eer"]) / base["eer"], 2)


def _cell(key: str, v: Any) -> str:
    """One Markdown table cell."""
    if v is None:
        return ""
    if key == "eer_rel_change":
        return f"{v:+.1f}%"
    if key == "eer" and isinstance(v, (int, float)):
        return f"{v:.2f}"
    if key.startswith("mindcf") and isinstance(v, (int, float)):
        return f"{v:.4f}"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[dict[str, Any]]) -> str:
    """All rows as a Markdown table: fixed columns, then extra fields, then ``score_file``."""
    extra: list[str] = []
    for r in rows:
        extra += [k for k in r if k not in COLUMNS and k != "score_file" and k not in extra]
    cols = list(COLUMNS) + extra + ["score_file"]
    head = {"eer": "EER (%)", "eer_rel_change": "EER rel. change", "mindcf_0.01": "minDCF 0.01",
            "mindcf_0.05": "minDCF 0.05"}
    lines = ["# Results", "",
             "| " + " | ".join(head.get(c, c) for c in cols) + " |",
             "|" + "|".join("---:" if c in NUMERIC or c == "eer_rel_change" else "---" for c in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_cell(c, r.get(c)) for c in cols) + " |")
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
