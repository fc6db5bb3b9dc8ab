"""Add a system's metrics to exp/results.json (+ results.md), and/or plot several DET curves.

Examples:
    python -m embspace.bin.report --results exp/results.json --system ecapa_mini --method baseline \
        --trials mini_test --metrics exp/ecapa_mini/scores_none/mini_test.metrics.json \
        --score-file exp/ecapa_mini/scores_none/mini_test.score --extra norm=none
    python -m embspace.bin.report --det-png exp/det_mini_test.png --from-results exp/results.json --trials mini_test
    python -m embspace.bin.report --det-dir exp --from-results exp/results.json   # exp/det_<list>.png for every list
    python -m embspace.bin.report --det-png det.png --scores ecapa=a.score resnet=b.score --title mini_test
    python -m embspace.bin.report --results exp/results.json --system gender_inside --method inside \
        --baseline gender_real --task gender --trials mini_test --metrics exp/x/gender_inside.metrics.json
    python -m embspace.bin.report --from-results exp/results.json --markdown RESULTS.md \
        --seeds "corpus_seed=1 config seed=42"     # a recipe's RESULTS.md, generated, never typed

A row copies the scoring settings compute_metrics --scoring-info put in the metrics JSON
(cohort_size, top_n, top_n_requested). --from-results draws one curve per row of the results
file for the trial list, labelled by system; score_file paths are taken relative to the current
directory (the recipe dir, as run.sh writes them).

With ``--task`` the row is a classification result: its metrics JSON holds accuracy and error_rate,
in percent; ``--score-file`` (predictions) is optional.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from embspace.report import CLS_REQUIRED, REQUIRED, add_row, load_rows, render_markdown
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main

ROW_ARGS = ("results", "system", "method", "trials", "metrics", "score_file")
CLS_ROW_ARGS = ("results", "system", "method", "trials", "metrics")
#: fields of a compute_metrics JSON copied into the row besides the metrics (from score --info-json)
SCORING_FIELDS = ("cohort_size", "top_n", "top_n_requested")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("results row")
    g.add_argument("--results", help="results JSON, e.g. exp/results.json (results.md goes beside it)")
    g.add_argument("--system", help="system name, unique per trials list")
    g.add_argument("--method", help="'baseline' or the method being compared")
    g.add_argument("--trials", help="trials list name, e.g. vox1_O")
    g.add_argument("--metrics", help="JSON written by compute_metrics --json")
    g.add_argument("--score-file", help="score file the metrics come from (classification: predictions, optional)")
    g.add_argument("--task", help="a classification row for this task (e.g. gender): metrics hold accuracy, error_rate")
    g.add_argument("--baseline", help="system to compare with (required unless --method baseline)")
    g.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                   help="extra column (repeatable); numbers and JSON literals are parsed")
    d = p.add_argument_group("DET plot")
    d.add_argument("--det-png", help="draw the DET curves of --scores here")
    d.add_argument("--scores", nargs="+", default=[], metavar="NAME=FILE", help="score files to plot")
    d.add_argument("--from-results", metavar="RESULTS_JSON",
                   help="plot every system of this results file on the trial list --trials (instead of --scores)")
    d.add_argument("--det-dir", metavar="DIR",
                   help="with --from-results and no --trials: one plot per trial list of the results file, "
                        "DIR/det_<trials>.png")
    d.add_argument("--title", help="DET plot title (default with --from-results: the trial list)")
    m = p.add_argument_group("Markdown page")
    m.add_argument("--markdown", metavar="MD", help="with --from-results: write its tables to MD (e.g. a recipe's "
                   "RESULTS.md) under a header naming the commit, the machine and the seeds")
    m.add_argument("--seeds", default="", help="the seeds of the run, as text for the header (seed fields of the "
                   "rows are listed too)")
    return p


def _commit() -> str:
    """The source checkout's commit (with '+changes' when its work tree differs), or 'unknown'."""
    repo = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return sha + (" +changes" if dirty else "")


def markdown_page(results: str, seeds: str) -> str:
    """The tables of ``results`` under a header: the command that made them, commit, machine, seeds."""
    rows = load_rows(results)
    row_seeds = sorted({f"{k}={r[k]}" for r in rows for k in r if "seed" in k})
    machine = f"{socket.gethostname()} ({platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()})"
    header = ["# Results", "",
              f"Generated from `{results}` by `python -m embspace.bin.report --from-results {results} --markdown ...`;",
              "do not edit by hand (rerun the recipe, then that command).", "",
              f"- commit: {_commit()}", f"- machine: {machine}",
              f"- seeds: {'; '.join(x for x in (seeds.strip(), ', '.join(row_seeds)) if x) or 'not given'}", "", ""]
    tables = render_markdown(rows).split("\n", 2)[2]  # without its own "# Results" title
    return "\n".join(header) + tables


def _parse_extra(items: list[str], parser: argparse.ArgumentParser) -> dict[str, object]:
    """``key=value`` pairs; values that parse as JSON (numbers, true, null...) are converted."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--extra expects KEY=VALUE, got {item!r}")
        if key in REQUIRED or key in CLS_REQUIRED or key in ("baseline", "eer_rel_change", "error_rel_change"):
            parser.error(f"--extra cannot set the reserved field {key!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _read_metrics(path: str, fields: tuple[str, ...] = ("eer", "mindcf_0.01", "mindcf_0.05")) -> dict[str, object]:
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


def _verification_rows(results: str) -> list[dict]:
    """The rows of ``results`` with verification scores (classification rows, ``task``, have none)."""
    return [r for r in load_rows(results) if "task" not in r]


def det_inputs_from_results(results: str, trials: str) -> dict[str, str]:
    """``{system: score file}`` of every verification row of ``results`` on ``trials``, in the table's order.

    Every score file must exist (relative paths are taken from the current directory, the recipe dir).
    """
    rows = [r for r in _verification_rows(results) if r["trials"] == trials]
    if not rows:
        known = sorted({r["trials"] for r in _verification_rows(results)})
        raise DataError(f"no row for trials '{trials}' (trial lists there: {', '.join(known) or 'none'})", results)
    scores = {r["system"]: r["score_file"] for r in rows if r.get("score_file")}
    for system, path in scores.items():
        if not Path(path).is_file():
            raise DataError(f"score file of system '{system}' not found: {path} (taken relative to the current "
                            "directory, the recipe dir)", results, key=system)
    return scores


def plot_results_det(results: str, trials: str, png: str | Path, parser: argparse.ArgumentParser) -> None:
    """One DET plot of every system of ``results`` on ``trials``, labelled by system."""
    from embspace.scoring.det import plot_det

    scores = det_inputs_from_results(results, trials)
    plot_det(_curves([f"{s}={p}" for s, p in scores.items()], parser), png, trials)


def _curves(items: list[str], parser: argparse.ArgumentParser) -> dict[str, tuple]:
    """DET curves of ``NAME=FILE`` score files, checked to hold both kinds of trial."""
    from embspace.scoring.metrics import det_curve, read_scores

    curves = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--scores expects NAME=FILE, got {item!r}")
        if name in curves:
            parser.error(f"--scores: name {name!r} given twice")
        s, y = read_scores(path)
        n_tgt = int(y.sum())
        if n_tgt == 0 or n_tgt == len(y):
            raise DataError(f"need both target and non-target trials, got {n_tgt} and {len(y) - n_tgt}", path)
        curves[name] = det_curve(s, y)[:2]
    return curves


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Validate everything, then write the row and/or the plot."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.det_dir:
        if not args.from_results or args.trials or args.det_png or args.scores:
            parser.error("--det-dir goes with --from-results only")
        lists = sorted({r["trials"] for r in _verification_rows(args.from_results) if r.get("score_file")})
        if not lists:
            raise DataError("no rows with score files", args.from_results)
        for trials in lists:
            plot_results_det(args.from_results, trials, Path(args.det_dir) / f"det_{trials}.png", parser)
        print(f"report: DET plots of {len(lists)} trial lists -> {args.det_dir}/det_*.png", file=sys.stderr)
        return 0
    if args.markdown:
        if not args.from_results or args.det_png or args.scores or any(getattr(args, a) for a in ROW_ARGS):
            parser.error("--markdown goes with --from-results (and --seeds) only")
        atomic_write_text(args.markdown, markdown_page(args.from_results, args.seeds))
        print(f"report: tables of {args.from_results} -> {args.markdown}", file=sys.stderr)
        return 0
    if args.from_results:
        extra_row = [a for a in ROW_ARGS if a != "trials" and getattr(args, a)]
        if not args.det_png or not args.trials or args.scores or extra_row:
            parser.error("--from-results goes with --det-png and --trials only")
        scores = det_inputs_from_results(args.from_results, args.trials)
        args.scores = [f"{system}={path}" for system, path in scores.items()]
        args.title = args.title or args.trials
        args.trials = None
    given = [a for a in ROW_ARGS if getattr(args, a)]
    if not given and not args.det_png:
        parser.error("give the results row options, --det-png with --scores (or --from-results), or both")
    row_args = CLS_ROW_ARGS if args.task else ROW_ARGS
    if given and any(not getattr(args, a) for a in row_args):
        missing = [a for a in row_args if not getattr(args, a)]
        parser.error("a results row needs " + ", ".join("--" + a.replace("_", "-") for a in missing))
    if args.det_png and not args.scores:
        parser.error("--det-png needs --scores NAME=FILE ... or --from-results")
    if args.scores and not args.det_png:
        parser.error("--scores needs --det-png")
    if given and args.method != "baseline" and not args.baseline:
        parser.error(f"--method {args.method} needs --baseline SYSTEM")

    row = None
    if given and args.task:
        row = {"system": args.system, "method": args.method, "baseline": args.baseline, "task": args.task,
               "trials": args.trials, **_read_metrics(args.metrics, ("accuracy", "error_rate"))}
        if args.score_file:
            row["score_file"] = args.score_file
        row.update(_parse_extra(args.extra, parser))
    elif given:
        row = {"system": args.system, "method": args.method, "baseline": args.baseline,
               "trials": args.trials, **_read_metrics(args.metrics), "score_file": args.score_file}
        row.update(_parse_extra(args.extra, parser))
    curves = _curves(args.scores, parser) if args.det_png else {}

    if row is not None:
        add_row(args.results, row)
        print(f"report: {args.system} on {args.trials} -> {args.results}", file=sys.stderr)
    if curves:
        from embspace.scoring.det import plot_det

        plot_det(curves, args.det_png, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
