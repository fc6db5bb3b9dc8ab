"""Add a system's metrics to exp/results.json (+ results.md), and/or plot several DET curves.

Examples:
    python -m embspace.bin.report --results exp/results.json --system ecapa_mini --method baseline \
        --trials mini_test --metrics exp/ecapa_mini/scores_none/mini_test.metrics.json \
        --score-file exp/ecapa_mini/scores_none/mini_test.score --extra norm=none
    python -m embspace.bin.report --det-png exp/det_mini_test.png --from-results exp/results.json --trials mini_test
    python -m embspace.bin.report --det-dir exp --from-results exp/results.json   # DET plots of every list
    python -m embspace.bin.report --intervals --from-results exp/results.json --utt2spk data/test/utt2spk \
        --forest-png exp/forest.png      # bootstrap intervals -> exp/comparisons.json, results.md, forest plot
    python -m embspace.bin.report --results exp/results.json --system x_seeds --method inside --baseline ecapa \
        --trials mini_test --seed-run 1=s1.metrics.json,s1.score --seed-run 2=s2.metrics.json,s2.score
    python -m embspace.bin.report --det-png det.png --scores ecapa=a.score resnet=b.score --title mini_test
    python -m embspace.bin.report --results exp/results.json --system gender_inside --method inside \
        --baseline gender_real --task gender --trials mini_test --metrics exp/x/gender_inside.metrics.json
    python -m embspace.bin.report --from-results exp/results.json --markdown RESULTS.md \
        --seeds "corpus_seed=1 config seed=42"     # a recipe's RESULTS.md, generated, never typed

A row copies the scoring settings compute_metrics --scoring-info put in the metrics JSON
(cohort_size, top_n, top_n_requested). --from-results draws one curve per row of the results
file for the trial list, labelled by system; score_file paths are taken relative to the current
directory (the recipe dir, as run.sh writes them). --det-dir draws, per trial list, the baseline
systems in DIR/det_<list>.png and each method with its baseline in DIR/det_<list>__<system>.png
(a row with seeds: its first seed's scores).

``--seed-run`` (repeatable) makes a row of per-seed results (embspace.report): its metrics are the
means over seeds. ``--intervals`` computes, for every row with a baseline on its list, the 95 %
bootstrap interval of the relative EER change over test speakers (and seeds)
(embspace.scoring.bootstrap) and the smallest change the evaluation detects (80 % power, 5 % level):
the trial sides' speakers come from --utt2spk files; rows whose trials are not covered are left out
with a note.

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
SEED_ROW_ARGS = ("results", "system", "method", "trials")
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
    g.add_argument("--seed-run", action="append", default=[], metavar="SEED=METRICS,SCORES",
                   help="one seed's metrics JSON and score file (repeatable; instead of --metrics/--score-file)")
    b = p.add_argument_group("bootstrap intervals")
    b.add_argument("--intervals", action="store_true",
                   help="with --from-results: intervals and detectable changes of every method row -> "
                        "comparisons.json, results.md")
    b.add_argument("--utt2spk", nargs="+", default=[], help="utt2spk files naming the speaker of every trial side")
    b.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default: %(default)s)")
    b.add_argument("--bootstrap-seed", type=int, default=0, help="seed of the resampling (default: %(default)s)")
    b.add_argument("--forest-png", help="with --intervals: forest plot of every interval")
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
        if key in REQUIRED or key in CLS_REQUIRED or key in ("baseline", "eer_rel_change", "error_rel_change", "seeds"):
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


def _seed_runs(items: list[str], parser: argparse.ArgumentParser) -> list[dict[str, object]]:
    """``SEED=METRICS,SCORES`` items -> per-seed results of a row."""
    runs = []
    for item in items:
        seed, sep, rest = item.partition("=")
        metrics, comma, scores = rest.partition(",")
        try:
            seed_value = int(seed)
        except ValueError:
            seed_value = None
        if not sep or not comma or seed_value is None or not metrics or not scores:
            parser.error(f"--seed-run expects SEED=METRICS_JSON,SCORE_FILE, got {item!r}")
        runs.append({"seed": seed_value, **_read_metrics(metrics), "score_file": scores})
    return runs


def _read_utt2spk(paths: list[str]) -> dict[str, str]:
    """Merged utt2spk tables (a side listed twice with two speakers is an error)."""
    from embspace.data.tables import read_table

    out: dict[str, str] = {}
    for path in paths:
        for utt, spk in read_table(path).items():
            if out.setdefault(utt, spk) != spk:
                raise DataError(f"'{utt}' is '{spk}' here but '{out[utt]}' in an earlier utt2spk", path)
    return out


def run_intervals(args: argparse.Namespace) -> None:
    """Intervals of every method row -> comparisons.json + results.md (+ a forest plot)."""
    from embspace.report import compute_comparisons, write_comparisons

    if not Path(args.from_results).is_file():
        raise DataError("file not found", args.from_results)
    rows = load_rows(args.from_results)
    comparisons, notes = compute_comparisons(rows, _read_utt2spk(args.utt2spk), args.resamples, args.bootstrap_seed)
    for note in notes:
        print(f"report: {note}", file=sys.stderr)
    write_comparisons(args.from_results, comparisons)
    if args.forest_png and comparisons:
        from embspace.scoring.det import plot_forest

        plot_forest([{"label": f"{c['system']} vs {c['baseline']} ({c['trials']})", "change": c["rel_change"],
                      "low": c["ci_low"], "high": c["ci_high"], "significant": c["significant"]} for c in comparisons],
                    args.forest_png, "EER change over the baseline")
    n_sig = sum(c["significant"] for c in comparisons)
    print(f"report: {len(comparisons)} intervals ({n_sig} significant) -> "
          f"{Path(args.from_results).with_name('comparisons.json')}", file=sys.stderr)


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


def plot_comparison_dets(results: str, trials: str, out_dir: Path, parser: argparse.ArgumentParser) -> list[Path]:
    """``det_<trials>.png``: the baseline systems of the list (every system when none is a baseline);
    ``det_<trials>__<system>.png``: each method row with its baseline. Returns the files written."""
    from embspace.scoring.det import plot_det

    scores = det_inputs_from_results(results, trials)
    rows = [r for r in _verification_rows(results) if r["trials"] == trials and r["system"] in scores]
    bases = [r["system"] for r in rows if r["method"] == "baseline"] or [r["system"] for r in rows]
    curves = _curves([f"{s}={scores[s]}" for s in bases], parser)
    written = [out_dir / f"det_{trials}.png"]
    plot_det(curves, written[0], f"{trials}: baselines", legend_outside=True)
    for r in rows:
        base = r.get("baseline")
        if r["method"] == "baseline" or base not in scores:
            continue
        name = f"{r['system']} (seed {r['seeds'][0]['seed']})" if r.get("seeds") else r["system"]
        pair = {base: curves[base] if base in curves else _curves([f"{base}={scores[base]}"], parser)[base],
                name: _curves([f"{r['system']}={scores[r['system']]}"], parser)[r["system"]]}
        written.append(out_dir / f"det_{trials}__{r['system'].replace(os.sep, '_')}.png")
        plot_det(pair, written[-1], f"{trials}: {r['system']} vs {base}", legend_outside=True)
    return written


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
        written = [p for trials in lists for p in plot_comparison_dets(args.from_results, trials, Path(args.det_dir), parser)]
        print(f"report: {len(written)} DET plots of {len(lists)} trial lists -> {args.det_dir}/det_*.png", file=sys.stderr)
        return 0
    if args.intervals:
        if not args.from_results or not args.utt2spk or args.det_png or args.scores or args.results:
            parser.error("--intervals goes with --from-results and --utt2spk (and --forest-png, --resamples, "
                         "--bootstrap-seed)")
        if args.resamples < 1:
            parser.error("--resamples must be >= 1")
        run_intervals(args)
        return 0
    if args.markdown:
        if not args.from_results or args.det_png or args.scores or any(getattr(args, a) for a in ROW_ARGS):
            parser.error("--markdown goes with --from-results (and --seeds) only")
        atomic_write_text(args.markdown, markdown_page(args.from_results, args.seeds))
        print(f"report: tables of {args.from_results} -> {args.markdown}", file=sys.stderr)
        return 0
    if args.forest_png or args.utt2spk:
        parser.error("--forest-png and --utt2spk go with --intervals")
    if args.from_results:
        extra_row = [a for a in ROW_ARGS if a != "trials" and getattr(args, a)]
        if not args.det_png or not args.trials or args.scores or extra_row:
            parser.error("--from-results goes with --det-png and --trials only")
        scores = det_inputs_from_results(args.from_results, args.trials)
        args.scores = [f"{system}={path}" for system, path in scores.items()]
        args.title = args.title or args.trials
        args.trials = None
    given = [a for a in ROW_ARGS if getattr(args, a)] + (["seed_run"] if args.seed_run else [])
    if not given and not args.det_png:
        parser.error("give the results row options, --det-png with --scores (or --from-results), or both")
    if args.seed_run and (args.metrics or args.score_file or args.task):
        parser.error("--seed-run replaces --metrics and --score-file (verification rows only)")
    row_args = CLS_ROW_ARGS if args.task else SEED_ROW_ARGS if args.seed_run else ROW_ARGS
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
    elif given and args.seed_run:
        row = {"system": args.system, "method": args.method, "baseline": args.baseline,
               "trials": args.trials, "seeds": _seed_runs(args.seed_run, parser)}
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
