"""Remove the temporary siblings of each PATH left by killed runs: ``.tmp.<name>.<pid>...`` and
``.tmp<pid>.<name>`` whose writer's process is gone (a live writer's are kept).

    python -m embspace.bin.clean_leftovers exp/ecapa/embeddings/test
"""

from __future__ import annotations

import sys

from embspace.cli.args import cli_parser
from embspace.utils.atomic import clean_leftovers
from embspace.utils.errors import cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Clean the leftovers beside every PATH."""
    p = cli_parser("clean_leftovers", __doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="an output file or folder (it need not exist)")
    for path in p.parse_args(argv).paths:
        for gone in clean_leftovers(path):
            print(f"clean_leftovers: removed {gone}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
