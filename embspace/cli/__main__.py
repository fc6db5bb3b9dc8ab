"""``python -m embspace.cli``: the ``embspace`` command."""

import sys

from embspace.cli import main

sys.exit(main())
