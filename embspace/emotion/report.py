"""Results rows and the ablation report of emotion-invariant fine-tuning (``embspace.bin.emotion_report``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from embspace.emotion.config import emotion_options
from embspace.report import add_rows
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError


def components_of(exp_dir: Path) -> str:
    """``cp+erl+em`` of a fine-tuning run (its config.yaml); ``pretrained`` without one."""
    cfg_path = exp_dir / "config.yaml"
    if not cfg_path.is_file():
        return "pretrained"
    cfg = yaml.safe_load(cfg_path.read_text())
    emo = emotion_options(cfg.get("emotion"), int(cfg.get("data", {}).get("num_frames", 200)))
    return emo.components


def _rel(value: float, base: float | None) -> str:
    """`` (+x.x%)``: the relative change of ``value`` over ``base`` (nothing without a base)."""
    return f" ({100 * (value - base) / base:+.1f}%)" if base else ""


def ablation_table(rows: list[dict], lists: list[str], key: str) -> list[str]:
    """Markdown: one line per system, one column per list, ``value (rel. change vs its baseline)``."""
    fmt = "{:.2f}" if key == "eer" else "{:.4f}"
    out = ["| system | components | vs | " + " | ".join(lists) + " |", "|---|---|---|" + "---:|" * len(lists)]
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        base = by_name.get(r["baseline"]) if r["baseline"] else None
        cells = []
        for lst in lists:
            m = r["metrics"].get(lst)
            b = base["metrics"].get(lst) if base else None
            cells.append("" if m is None else fmt.format(m[key]) + _rel(m[key], b[key] if b else None))
        out.append(f"| {r['name']} | {r['components']} | {r['baseline'] or ''} | " + " | ".join(cells) + " |")
    return out


CUMULATIVE = ("none", "cp", "cp+erl", "cp+erl+em")  # the paper's ablation: each row adds one component


def cumulative_table(rows: list[dict], lists: list[str], key: str) -> list[str]:
    """Markdown of the cumulative ablation (baseline, +CopyPaste, +ERL, +EM: the rows whose components
    are ``CUMULATIVE``, first match each), ``value (change vs the previous step; vs the baseline)``;
    empty when one of the four rows is missing."""
    by_comp: dict[str, dict] = {}
    for r in rows[1:]:
        by_comp.setdefault(r["components"], r)
    if any(c not in by_comp for c in CUMULATIVE):
        return []
    fmt = "{:.2f}" if key == "eer" else "{:.4f}"
    out = ["| step | system | " + " | ".join(lists) + " |", "|---|---|" + "---:|" * len(lists)]
    base = by_comp[CUMULATIVE[0]]
    for i, comp in enumerate(CUMULATIVE):
        r, prev = by_comp[comp], by_comp[CUMULATIVE[max(0, i - 1)]]
        cells = []
        for lst in lists:
            m, p, b = (x["metrics"].get(lst) for x in (r, prev, base))
            if m is None:
                cells.append("")
            elif i == 0 or not (p and b and p[key] and b[key]):
                cells.append(fmt.format(m[key]))
            else:
                step_rel, base_rel = (100 * (m[key] - x[key]) / x[key] for x in (p, b))
                cells.append(f"{fmt.format(m[key])} ({step_rel:+.1f}%; {base_rel:+.1f}%)")
        step = "baseline" if i == 0 else "+" + comp.split("+")[-1]
        out.append(f"| {step} | {r['name']} | " + " | ".join(cells) + " |")
    return out


def read_systems(systems: dict[str, str]) -> list[dict]:
    """One row per ``{name: folder}`` (in order: the neutral-only encoder, the fine-tuning baseline, the
    component rows) with its metrics per list, its baseline and its components."""
    rows: list[dict] = []
    for i, (name, folder) in enumerate(systems.items()):
        sdir = Path(folder) / "scores"
        metrics = {f.name.removesuffix(".metrics.json"): json.loads(f.read_text())
                   for f in sorted(sdir.glob("*.metrics.json"))}
        if not metrics:
            raise DataError("no *.metrics.json (run emotion_eval first)", sdir)
        baseline = None if i == 0 else rows[0]["name"] if i == 1 else rows[1]["name"]
        rows.append({"name": name, "dir": sdir, "metrics": metrics, "baseline": baseline,
                     "components": components_of(Path(folder))})
    return rows


def results_rows(rows: list[dict], result_lists: list[str], corpus: str) -> list[dict]:
    """The results-table rows (``<corpus>_emo_<list>``) of every system on ``result_lists``."""
    out = []
    for r in rows:
        for lst in result_lists:
            if lst not in r["metrics"]:
                raise DataError(f"no metrics for list '{lst}'", r["dir"])
            m = r["metrics"][lst]
            out.append({"system": r["name"], "method": "baseline" if r["baseline"] is None else "emotion",
                        "baseline": r["baseline"], "trials": f"{corpus}_emo_{lst.removeprefix('test_')}",
                        **{k: m[k] for k in ("eer", "mindcf_0.01", "mindcf_0.05")},
                        "score_file": str(r["dir"] / f"{lst}.score"), "components": r["components"], "norm": "none"})
    return out


def report_markdown(rows: list[dict], style_check: str = "") -> str:
    """report.md: every list (test first), EER and minDCF tables, the cumulative ablation, the style check."""
    all_lists = sorted(rows[0]["metrics"], key=lambda n: (not n.startswith("test"), n not in ("test_nn", "dev_nn"),
                                                           n.endswith("merged"), n))
    lines = ["# Emotion-invariant fine-tuning: ablation", "",
             "Each row's relative change is against the system in column *vs* (the fine-tuning baseline for the "
             "component rows, the neutral-only encoder for the fine-tuning baseline). `test_*` lists: test "
             "speakers; `dev_*`: training speakers held out of fine-tuning (hyper-parameters were chosen on these). "
             "`nn`: neutral enrollment and test; `<emotion>`: neutral enrollment, test in that emotion; "
             "`merged`: all emotional tests.", "", "## EER (%)", ""]
    lines += ablation_table(rows, all_lists, "eer")
    lines += ["", "## minDCF (p_target 0.01)", ""] + ablation_table(rows, all_lists, "mindcf_0.01")
    lines += ["", "## minDCF (p_target 0.05)", ""] + ablation_table(rows, all_lists, "mindcf_0.05")
    cumulative = cumulative_table(rows, all_lists, "eer")
    if cumulative:
        lines += ["", "## Cumulative ablation, EER (%)", "",
                  ("Each step adds one component to the one above: (relative change vs the step above; vs the "
                   "fine-tuning baseline)."), ""] + cumulative
    if style_check:
        lines += ["", Path(style_check).read_text().replace("# ", "## ", 1)]
    return "\n".join(lines) + "\n"


def write_report(systems: dict[str, str], results: str, corpus: str, result_lists: list[str], out_md: Path,
                 style_check: str = "", det_png: str = "") -> None:
    """Rows of ``result_lists`` into ``results``, the ablation report to ``out_md``, (``det_png``) DET curves."""
    rows = read_systems(systems)
    add_rows(results, results_rows(rows, result_lists, corpus))  # every row checked before results.json is rewritten, once
    atomic_write_text(out_md, report_markdown(rows, style_check))
    if det_png:
        from embspace.scoring.det import plot_det, score_file_curves

        plot_det(score_file_curves({r["name"]: r["dir"] / "test_merged.score" for r in rows}),
                 det_png, f"{corpus} emotional trials (test_merged)")
    print(f"emotion_report: {len(rows)} systems x {len(result_lists)} lists -> {results}; {out_md}", file=sys.stderr)
