#!/usr/bin/env python3
"""Kaldi-style $cmd launcher; see embspace/launcher/local.py and `utils/run.py --help`."""

import os
import sys

# Drop utils/ from the import path (its queue.py would shadow the standard library's queue module);
# the repository root comes last, for a checkout that is not pip-installed.
_here = os.path.dirname(os.path.realpath(__file__))
sys.path = [p for p in sys.path if os.path.realpath(p or ".") != _here] + [os.path.dirname(_here)]

from embspace.launcher.local import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
