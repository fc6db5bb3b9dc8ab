"""EER and minDCF (p_target 0.01 and 0.05) of a score file; optional JSON and DET plot."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from embspace.scoring.metrics import compute_all, det_curve, read_scores
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="compute_metrics", description=__doc__)
    p.add_argument("--scores", required=True, help="<enroll> <test> <score> target|nontarget")
    p.add_argument("--det-png", help="write a DET plot here")
    p.add_argument("--json", help="write {eer, mindcf_0.01, mindcf_0.05, ...} here")
    return p


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
    if args.json:
        atomic_write_text(args.json, json.dumps(metrics, indent=2) + "\n")
    if args.det_png:
        from embspace.scoring.det import plot_det

        pmiss, pfa, _ = det_curve(scores, labels)
        plot_det({Path(args.scores).name: (pmiss, pfa)}, args.det_png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
