"""Result tables inside Markdown documents, generated from ``results.json``, never typed.

A document marks where a table goes; the block between the markers is replaced on every run::

    <!-- results systems="ecapa_mini,ecapa_mini_inside*" trials="mini_test,mini_test_same_gender" -->
    (generated)
    <!-- /results -->

``systems`` and ``trials`` are comma-separated names or shell patterns (``fnmatch``), kept in the
order given; ``columns`` adds row fields (e.g. ``columns="norm,identities"``). The block holds one
table (EER with mean ± std over seeds, the relative change against the row's baseline with its 95 %
interval and smallest detectable change from ``comparisons.json``, minDCF) and a line naming the
results file, commit, machine and seeds it came from.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Any, Mapping, Sequence

from embspace.report import (_cell, _change_cell, _detectable_cell, current_comparisons, gain_cell,
                             is_classification, load_comparisons, load_rows)
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

BLOCK = re.compile(r"(<!-- results (?P<attrs>[^>]*?) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)
ATTRS = {"systems", "trials", "columns"}
BASE_COLUMNS = ("system", "baseline", "trials", "eer", "eer_rel_change", "detectable_change", "mindcf_0.01", "seeds")
HEADERS = {"eer": "EER (%)", "eer_rel_change": "EER rel. change [95 %]", "detectable_change": "detectable change",
           "gain_fraction": "G [95 %]",
           "mindcf_0.01": "minDCF 0.01", "seeds": "seeds"}


def _attrs(text: str, where: str) -> dict[str, list[str]]:
    """``systems="a,b" trials="t"`` -> ``{"systems": ["a", "b"], "trials": ["t"]}``."""
    out: dict[str, list[str]] = {}
    for item in shlex.split(text):
        key, sep, value = item.partition("=")
        if not sep or key not in ATTRS:
            raise DataError(f"results block: expected {', '.join(sorted(ATTRS))}=..., got {item!r}", where)
        out[key] = [v for v in value.split(",") if v]
    if "systems" not in out:
        raise DataError("results block: needs systems=\"...\"", where)
    return out


def _select(rows: Sequence[Mapping[str, Any]], patterns: list[str], trials: list[str] | None) -> list[Mapping[str, Any]]:
    """Rows whose system matches a pattern (in pattern order) and whose trials match one of ``trials``."""
    chosen: list[Mapping[str, Any]] = []
    for t in trials or ["*"]:
        for p in patterns:
            chosen += [r for r in rows if fnmatch.fnmatchcase(r["system"], p) and fnmatch.fnmatchcase(r["trials"], t)
                       and not is_classification(r) and r not in chosen]
    return chosen


def render_block(rows: Sequence[Mapping[str, Any]], comparisons: Mapping[tuple[str, str], dict],
                 columns: Sequence[str] = ()) -> list[str]:
    """One compact Markdown table of verification rows."""
    cols = list(BASE_COLUMNS) + [c for c in columns if c not in BASE_COLUMNS]
    lines = ["| " + " | ".join(HEADERS.get(c, c) for c in cols) + " |",
             "|" + "|".join("---" if c in ("system", "baseline", "trials") else "---:" for c in cols) + "|"]
    for r in rows:
        comp = comparisons.get((r["system"], r["trials"]))
        cells = []
        for c in cols:
            if c == "eer_rel_change":
                cells.append(_change_cell(r[c], comp) if c in r else "")
            elif c == "detectable_change":
                cells.append(_detectable_cell(comp))
            elif c == "gain_fraction":
                cells.append(gain_cell(r.get(c), comp))
            else:
                cells.append(_cell(c, r.get(c), r))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def update_document(path: str | Path, results: str | Path, provenance: str) -> int:
    """Regenerate every results block of the Markdown file ``path``; returns how many there were (0: the file
    is left as it is)."""
    text = Path(path).read_text(encoding="utf-8")
    rows = load_rows(results)
    intervals = current_comparisons(rows, load_comparisons(results))
    count = 0

    def fill(m: re.Match) -> str:
        nonlocal count
        count += 1
        where = f"{path}: block {count}"
        attrs = _attrs(m.group("attrs"), where)
        chosen = _select(rows, attrs["systems"], attrs.get("trials"))
        if not chosen:  # rows of an option the run did not use (e.g. --seeds): say so, keep the block
            body = [f"(no row of this run matches systems={','.join(attrs['systems'])}"
                    f" trials={','.join(attrs.get('trials', ['*']))})"]
        else:
            body = render_block(chosen, intervals, attrs.get("columns", ()))
        return m.group(1) + "\n".join(body + ["", provenance, ""]) + m.group(4)

    new = BLOCK.sub(fill, text)
    if new != text:
        atomic_write_text(path, new)
    return count
