"""Score an old/new model pair symmetrically and asymmetrically (raw cosine, logit space, NESSA) and report G.

    python -m embspace.bin.nessa_evaluate \\
        --old ge2e=exp/ge2e/embeddings/test/xvector.scp --old-mean exp/ge2e/embeddings/train/mean.vec \\
        --new ecapa_mini=exp/ecapa_mini/embeddings/test/xvector.scp --new-mean exp/ecapa_mini/embeddings/train/mean.vec \\
        --mapper nessa=exp/nessa/ge2e-ecapa_mini/nessa/mapper.pt --mapper logit=exp/nessa/ge2e-ecapa_mini/logit/mapper.pt \\
        --trials mini_test=data/test/trials \\
        --profile-trials mini_test_profiles=data/test/trials_profiles --profiles data/test/profiles \\
        --out-dir exp/nessa/ge2e-ecapa_mini/eval --results exp/results.json

Systems on every trial list: ``old`` and ``new`` (symmetric; cosine after subtracting the training
mean, as the backbone scores them), and for both asymmetric configurations, ``old/new`` (old
model enrolled, new at runtime) and ``new/old``: ``.raw`` cosine (when the dimensions agree) and
one system per ``--mapper`` (each trained with X = old, Y = new). Profiles (enrollment = several
utterances) are averaged in each ``--profile-modes`` (systems of later modes get the mode as a
suffix); ``--profile-modes dev`` scores each mapper only in the mode nessa_train chose on its dev
profile list (``<system>.<chosen mode>``, ``profile_mode_selected_on: dev``), so no choice is made
on test trials. Writes ``<out-dir>/<trials>/<system>.score`` and ``.metrics.json`` and ``<out-dir>/rows.json``, adds one row per
system and trial list to ``--results`` (asymmetric rows: ``method nessa``, ``baseline`` = the old
symmetric system, ``gain_fraction`` G = (EER(old) - EER(asym)) / (EER(old) - EER(new)) and
``gain_fraction_mindcf`` on minDCF(0.01)), and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.cli.args import cli_parser, name_path
from embspace.nessa import PROFILE_MODES
from embspace.nessa.evaluate import evaluate_pair
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("nessa_evaluate", __doc__)
    p.add_argument("--old", type=name_path, required=True, metavar="NAME=SCP", help="old model A: name and test embeddings")
    p.add_argument("--new", type=name_path, required=True, metavar="NAME=SCP", help="new model B: name and test embeddings")
    p.add_argument("--old-mean", required=True, help="A's training mean (mean.vec), for symmetric and raw scoring")
    p.add_argument("--new-mean", required=True, help="B's training mean (mean.vec)")
    p.add_argument("--mapper", type=name_path, action="append", default=[], metavar="LABEL=MAPPER",
                   help="a mapper.pt trained with X = old, Y = new (repeatable): its systems are named <E>/<R>.LABEL")
    p.add_argument("--trials", type=name_path, action="append", default=[], metavar="NAME=FILE",
                   help="single-utterance trial list (repeatable)")
    p.add_argument("--profile-trials", type=name_path, action="append", default=[], metavar="NAME=FILE",
                   help="profile trial list: '<profile> <test utt> target|nontarget' (repeatable; needs --profiles)")
    p.add_argument("--profiles", help="enrollment profiles: '<profile> <utt> <utt>...'")
    p.add_argument("--profile-modes", nargs="+", default=["map_then_average"], choices=PROFILE_MODES + ("dev",),
                   help="profile averaging modes to score; the first gives the plain system names. 'dev' (alone): "
                        "each mapper in the mode chosen on the dev list by nessa_train --dev-profiles, named "
                        "<system>.<mode>")
    p.add_argument("--out-dir", required=True, help="score and metrics files go here")
    p.add_argument("--results", help="results JSON to add the rows to (results.md beside it); without it: "
                   "score and metrics files only")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Read and check everything, score every system, then write scores, metrics and rows."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.profile_trials and not args.profiles:
        p.error("--profile-trials needs --profiles")
    if not args.trials and not args.profile_trials:
        p.error("give --trials and/or --profile-trials")
    if "dev" in args.profile_modes and len(args.profile_modes) > 1:
        p.error("--profile-modes dev cannot be combined with other modes")
    if args.old[0] == args.new[0]:
        p.error("--old and --new need different names")
    rows = evaluate_pair(args)
    print(f"nessa_evaluate: {len(rows)} rows -> {args.results or Path(args.out_dir) / 'rows.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
