"""Results rows and the ablation report of emotion-invariant fine-tuning.

    python -m embspace.bin.emotion_report --results exp/results.json --corpus mini \
        --system ecapa_mini=exp/emotion/pretrained --system ecapa_mini_emo_base=exp/emotion/base \
        --system ecapa_mini_emo_cp=exp/emotion/cp ... --style-check exp/emotion/style_check.md \
        --out-md exp/emotion/report.md --det-png exp/emotion/det_test_merged.png
``--system`` order matters: the first is the encoder trained on neutral speech (``method: baseline``),
the second the fine-tuning baseline (``method: emotion``, compared with the first), every other one a
component row (``method: emotion``, compared with the fine-tuning baseline). When the rows include
cp, cp_erl and all, the report also has the cumulative ablation (each step against the one above). Each folder holds
``scores/<list>.{score,metrics.json}`` (emotion_eval). Rows of the ``--result-lists`` go into the
results table (``embspace.report.add_rows``) as ``<corpus>_emo_<list>``; ``report.md`` has every
list (test and dev), EER and minDCF with the relative change, and the style check.
"""

from __future__ import annotations

import sys
from pathlib import Path

from embspace.cli.args import cli_parser, name_values
from embspace.emotion.report import write_report
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Read every system's metrics, add the results rows, write the report (and the DET plot)."""
    p = cli_parser("emotion_report", __doc__)
    p.add_argument("--results", required=True, help="results JSON (exp/results.json)")
    p.add_argument("--corpus", default="mini", help="prefix of the trials names in the results table")
    p.add_argument("--system", action="append", default=[], metavar="NAME=DIR", required=True,
                   help="a system and its folder (see the order above), repeatable")
    p.add_argument("--result-lists", default="test_nn,test_merged", help="lists that become results rows")
    p.add_argument("--style-check", default="", help="style check Markdown to append to the report")
    p.add_argument("--out-md", required=True, type=Path, help="the ablation report")
    p.add_argument("--det-png", default="", help="DET curves of every system on the test_merged list")
    args = p.parse_args(argv)
    if len(args.system) < 2:
        p.error("give at least the neutral-only encoder and the fine-tuning baseline")
    systems = name_values(args.system, p, "--system", "NAME=DIR")
    write_report(systems, args.results, args.corpus, [x for x in args.result_lists.split(",") if x], args.out_md,
                 args.style_check, args.det_png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
