"""Add a system's metrics to exp/results.json (+ results.md), and/or plot several DET curves.

    python -m embspace.bin.report --results exp/results.json --system ecapa --method baseline \
        --trials mini_test --metrics exp/ecapa/scores_none/mini_test.metrics.json --score-file exp/ecapa/scores_none/mini_test.score
    python -m embspace.bin.report --results exp/results.json --system gender_inside --method inside \
        --baseline gender_real --task gender --trials mini_test --metrics exp/x/gender_inside.metrics.json

Verification metrics JSON (compute_metrics --json): eer, mindcf_0.01, mindcf_0.05. With ``--task``
(a classification row): accuracy and error_rate, in percent; ``--score-file`` (predictions) is optional.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from embspace.report import CLS_REQUIRED, REQUIRED, add_row
from embspace.utils.errors import DataError, cli_main

ROW_ARGS = ("results", "system", "method", "trials", "metrics", "score_file")
CLS_ROW_ARGS = ("results", "system", "method", "trials", "metrics")


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
    d.add_argument("--title", help="DET plot title")
    return p


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


def _read_metrics(path: str, fields: tuple[str, ...] = ("eer", "mindcf_0.01", "mindcf_0.05")) -> dict[str, float]:
    """The metrics ``fields`` from a JSON object (compute_metrics --json, or a classifier's result)."""
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
    return {k: m[k] for k in fields}


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Validate everything, then write the row and/or the plot."""
    parser = build_parser()
    args = parser.parse_args(argv)
    row_args = CLS_ROW_ARGS if args.task else ROW_ARGS
    given = [a for a in ROW_ARGS if getattr(args, a)]
    if not given and not args.det_png:
        parser.error("give the results row options, --det-png with --scores, or both")
    if given and any(not getattr(args, a) for a in row_args):
        missing = [a for a in row_args if not getattr(args, a)]
        parser.error("a results row needs " + ", ".join("--" + a.replace("_", "-") for a in missing))
    if args.det_png and not args.scores:
        parser.error("--det-png needs --scores NAME=FILE ...")
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
    curves = {}
    if args.det_png:
        from embspace.scoring.metrics import det_curve, read_scores

        for item in args.scores:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                parser.error(f"--scores expects NAME=FILE, got {item!r}")
            if name in curves:
                parser.error(f"--scores: name {name!r} given twice")
            s, y = read_scores(path)
            n_tgt = int(y.sum())
            if n_tgt == 0 or n_tgt == len(y):
                raise DataError(f"need both target and non-target trials, got {n_tgt} and {len(y) - n_tgt}",
                                path)
            curves[name] = det_curve(s, y)[:2]

    if row is not None:
        add_row(args.results, row)
        print(f"report: {args.system} on {args.trials} -> {args.results}", file=sys.stderr)
    if curves:
        from embspace.scoring.det import plot_det

        plot_det(curves, args.det_png, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
