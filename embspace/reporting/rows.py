"""Results rows built from metrics JSON files (``compute_metrics --json``, a classifier's result)."""

from __future__ import annotations

import json
from pathlib import Path

from embspace.report import CLS_REQUIRED, REQUIRED
from embspace.utils.errors import DataError, UsageError

#: fields of a compute_metrics JSON copied into the row besides the metrics (from score --info-json)
SCORING_FIELDS = ("cohort_size", "top_n", "top_n_requested")
VERIFICATION_METRICS = ("eer", "mindcf_0.01", "mindcf_0.05")
CLASSIFICATION_METRICS = ("accuracy", "error_rate")
RESERVED = ("baseline", "eer_rel_change", "error_rel_change", "seeds")


def read_metrics(path: str, fields: tuple[str, ...] = VERIFICATION_METRICS) -> dict[str, object]:
    """The metrics ``fields`` from a JSON object (compute_metrics --json, or a classifier's result),
    and the scoring settings it carries."""
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", p)
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"not valid JSON: {e}", p) from e
    if not isinstance(m, dict):
        raise DataError("expected a JSON object", p)
    missing = [k for k in fields if k not in m]
    if missing:
        raise DataError(f"lacks {', '.join(missing)}", p)
    return {k: m[k] for k in (*fields, *SCORING_FIELDS) if k in m}


def parse_extra(items: list[str]) -> dict[str, object]:
    """``--extra key=value`` pairs; values that parse as JSON (numbers, true, null...) are converted."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--extra expects KEY=VALUE, got {item!r}")
        if key in REQUIRED or key in CLS_REQUIRED or key in RESERVED:
            raise UsageError(f"--extra cannot set the reserved field {key!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def seed_runs(items: list[str]) -> list[dict[str, object]]:
    """``--seed-run SEED=METRICS,SCORES`` items -> per-seed results of a row."""
    runs = []
    for item in items:
        seed, sep, rest = item.partition("=")
        metrics, comma, scores = rest.partition(",")
        try:
            seed_value = int(seed)
        except ValueError:
            seed_value = None
        if not sep or not comma or seed_value is None or not metrics or not scores:
            raise UsageError(f"--seed-run expects SEED=METRICS_JSON,SCORE_FILE, got {item!r}")
        runs.append({"seed": seed_value, **read_metrics(metrics), "score_file": scores})
    return runs


def build_row(system: str, method: str, baseline: str | None, trials: str, metrics: str | None = None,
              score_file: str | None = None, task: str | None = None, seed_items: list[str] | None = None,
              extra: list[str] | None = None) -> dict[str, object]:
    """A results row: a classification row (``task``), a row of per-seed results (``seed_items``) or a
    verification row (``metrics`` and ``score_file``), plus the ``extra`` columns."""
    row: dict[str, object] = {"system": system, "method": method, "baseline": baseline}
    if task:
        row.update(task=task, trials=trials, **read_metrics(metrics, CLASSIFICATION_METRICS))
        if score_file:
            row["score_file"] = score_file
    elif seed_items:
        row.update(trials=trials, seeds=seed_runs(seed_items))
    else:
        row.update(trials=trials, **read_metrics(metrics), score_file=score_file)
    row.update(parse_extra(extra or []))
    return row
