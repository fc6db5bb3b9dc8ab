#!/usr/bin/env python3
"""Kaldi-style $cmd launcher; see embspace/launcher/local.py and `utils/run.py --help`."""

import sys

import _bootstrap  # noqa: F401,E402  (import path: see utils/_bootstrap.py)

from embspace.launcher.local import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
