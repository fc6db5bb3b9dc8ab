"""Import-path set-up shared by the Python scripts in utils/ (import it first: ``import _bootstrap``).

Drops utils/ from the import path (its queue.py would shadow the standard library's queue module)
and appends the repository root, for a checkout that is not pip-installed. Works through a recipe's
``utils`` symlink too.
"""

import os
import sys

_here = os.path.dirname(os.path.realpath(__file__))
sys.path = [p for p in sys.path if os.path.realpath(p or ".") != _here] + [os.path.dirname(_here)]
