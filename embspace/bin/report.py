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
    python -m embspace.bin.report --from-results exp/results.json --markdown RESULTS.md --seeds "corpus_seed=1" \
        --update-docs docs/inside.md   # a recipe's RESULTS.md and the results blocks of docs: generated, never typed

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
import sys

from embspace.cli.args import cli_parser, name_values, usage_errors
from embspace.report import add_row
from embspace.reporting.det import det_curves, det_inputs_from_results, plot_curves, plot_every_list
from embspace.reporting.intervals import run_intervals
from embspace.reporting.markdown import write_pages
from embspace.reporting.rows import build_row
from embspace.utils.errors import cli_main

ROW_ARGS = ("results", "system", "method", "trials", "metrics", "score_file")
SEED_ROW_ARGS = ("results", "system", "method", "trials")
CLS_ROW_ARGS = ("results", "system", "method", "trials", "metrics")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("report", __doc__)
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
    m.add_argument("--update-docs", nargs="+", default=[], metavar="DOC", help="with --from-results: regenerate the "
                   "results blocks of these Markdown files (embspace.reporting.docs)")
    m.add_argument("--seeds", default="", help="the seeds of the run, as text for the header (seed fields of the "
                   "rows are listed too)")
    return p


def _other_modes(p: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """Run --det-dir, --intervals or --markdown when asked (True), after checking what goes with them."""
    if args.det_dir:
        if not args.from_results or args.trials or args.det_png or args.scores:
            p.error("--det-dir goes with --from-results only")
        written, lists = plot_every_list(args.from_results, args.det_dir)
        print(f"report: {len(written)} DET plots of {len(lists)} trial lists -> {args.det_dir}/det_*.png", file=sys.stderr)
    elif args.intervals:
        if not args.from_results or not args.utt2spk or args.det_png or args.scores or args.results:
            p.error("--intervals goes with --from-results and --utt2spk (and --forest-png, --resamples, "
                    "--bootstrap-seed)")
        if args.resamples < 1:
            p.error("--resamples must be >= 1")
        run_intervals(args.from_results, args.utt2spk, args.resamples, args.bootstrap_seed, args.forest_png)
    elif args.markdown or args.update_docs:
        if not args.from_results or args.det_png or args.scores or any(getattr(args, a) for a in ROW_ARGS):
            p.error("--markdown and --update-docs go with --from-results (and --seeds) only")
        write_pages(args.from_results, args.seeds, args.markdown, args.update_docs)
    return bool(args.det_dir or args.intervals or args.markdown or args.update_docs)


def _check_row_and_plot(p: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Check the row and DET options (turning --from-results into --scores); the row options given."""
    if args.forest_png or args.utt2spk:
        p.error("--forest-png and --utt2spk go with --intervals")
    if args.from_results:
        extra_row = [a for a in ROW_ARGS if a != "trials" and getattr(args, a)]
        if not args.det_png or not args.trials or args.scores or extra_row:
            p.error("--from-results goes with --det-png and --trials only")
        scores = det_inputs_from_results(args.from_results, args.trials)
        args.scores = [f"{system}={path}" for system, path in scores.items()]
        args.title = args.title or args.trials
        args.trials = None
    given = [a for a in ROW_ARGS if getattr(args, a)] + (["seed_run"] if args.seed_run else [])
    if not given and not args.det_png:
        p.error("give the results row options, --det-png with --scores (or --from-results), or both")
    if args.seed_run and (args.metrics or args.score_file or args.task):
        p.error("--seed-run replaces --metrics and --score-file (verification rows only)")
    row_args = CLS_ROW_ARGS if args.task else SEED_ROW_ARGS if args.seed_run else ROW_ARGS
    missing = [a for a in row_args if not getattr(args, a)]
    if given and missing:
        p.error("a results row needs " + ", ".join("--" + a.replace("_", "-") for a in missing))
    if args.det_png and not args.scores:
        p.error("--det-png needs --scores NAME=FILE ... or --from-results")
    if args.scores and not args.det_png:
        p.error("--scores needs --det-png")
    if given and args.method != "baseline" and not args.baseline:
        p.error(f"--method {args.method} needs --baseline SYSTEM")
    return given


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Validate everything, then write the row and/or the plot."""
    p = build_parser()
    args = p.parse_args(argv)
    if _other_modes(p, args):
        return 0
    given = _check_row_and_plot(p, args)
    with usage_errors(p):
        row = build_row(args.system, args.method, args.baseline, args.trials, args.metrics, args.score_file, args.task,
                        args.seed_run, args.extra) if given else None
    curves = det_curves(name_values(args.scores, p, "--scores", "NAME=FILE")) if args.det_png else {}
    if row is not None:
        add_row(args.results, row)
        print(f"report: {args.system} on {args.trials} -> {args.results}", file=sys.stderr)
    if curves:
        plot_curves(curves, args.det_png, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
