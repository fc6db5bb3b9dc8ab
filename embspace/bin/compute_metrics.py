"""EER and minDCF (p_target 0.01 and 0.05) of a score file; optional JSON and DET plot.

Example:
    python -m embspace.bin.compute_metrics --scores exp/ecapa/scores_asnorm/mini_test.score \
        --json exp/ecapa/scores_asnorm/mini_test.metrics.json --det-png exp/ecapa/scores_asnorm/mini_test.det.png \
        --name ecapa_asnorm --scoring-info exp/ecapa/scores_asnorm/mini_test.scoring.json

--scoring-info merges the settings written by score --info-json (AS-norm cohort size, top-N used)
into the JSON, from where embspace.bin.report copies them into the results row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.scoring.metrics import compute_all, det_curve, read_scores
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("compute_metrics", __doc__)
    p.add_argument("--scores", required=True, help="<enroll> <test> <score> target|nontarget")
    p.add_argument("--det-png", help="write a DET plot here")
    p.add_argument("--name", help="system name labelling the DET curve (default: the score file's name)")
    p.add_argument("--title", help="DET plot title (e.g. the trial list)")
    p.add_argument("--json", help="write {eer, mindcf_0.01, mindcf_0.05, ...} here")
    p.add_argument("--scoring-info", help="JSON from score --info-json, merged into --json")
    return p


def _read_info(path: str) -> dict:
    """The scoring settings of score --info-json (a JSON object)."""
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file not found", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"not valid JSON: {e}", path) from None
    if not isinstance(info, dict):
        raise DataError("expected a JSON object", path)
    return info


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Compute, print and optionally save the metrics."""
    args = build_parser().parse_args(argv)
    scores, labels = read_scores(args.scores)
    n_tgt = int(labels.sum())
    if n_tgt == 0 or n_tgt == len(labels):
        raise DataError(f"need both target and non-target trials, got {n_tgt} and {len(labels) - n_tgt}",
                        args.scores)
    metrics = compute_all(scores, labels, (0.01, 0.05))
    print(f"EER: {metrics['eer']:.3f}%  minDCF(p=0.01): {metrics['mindcf_0.01']:.4f}  "
          f"minDCF(p=0.05): {metrics['mindcf_0.05']:.4f}  "
          f"({metrics['num_target']} target, {metrics['num_nontarget']} non-target trials)")
    if args.scoring_info:
        metrics.update(_read_info(args.scoring_info))
    if args.json:
        atomic_write_text(args.json, json.dumps(metrics, indent=2) + "\n")
    if args.det_png:
        from embspace.scoring.det import plot_det

        pmiss, pfa, _ = det_curve(scores, labels)
        plot_det({args.name or Path(args.scores).name: (pmiss, pfa)}, args.det_png, args.title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
