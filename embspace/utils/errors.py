"""User-facing errors and the CLI wrapper that turns them into a clear message and exit code 1.

Bad input (:class:`DataError`) and failures of the file system (``OSError``: a read-only or full
disk, a missing permission, a file where a folder should be) become one line,
``prog: error: <path>: <reason>``, and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable


class DataError(Exception):
    """Bad input. The message names the file and the line or key at fault."""

    def __init__(self, message: str, path: object = None, line: int | None = None, key: str | None = None):
        where = []
        if path is not None:
            where.append(str(path) + (f":{line}" if line is not None else ""))
        if key is not None:
            where.append(f"key '{key}'")
        self.path, self.line, self.key = path, line, key
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


class UsageError(Exception):
    """A badly formed or badly combined command-line option, found by library code: the CLI turns it
    into a usage error (``prog: error: ...``, exit status 2) with :func:`embspace.cli.args.usage_errors`."""


def _program_name(func: Callable) -> str:
    """``train`` for ``python -m embspace.bin.train`` (where ``__module__`` is ``__main__``), ``x`` for ``utils/x.py``."""
    module = func.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec else sys.argv[0]
    if module.endswith(".py"):  # a script run by path: utils/fix_data_dir.py -> fix_data_dir
        return module.rsplit("/", 1)[-1].removesuffix(".py")
    return module.rsplit(".", 1)[-1]


def os_error_message(e: OSError) -> str:
    """``<path>: <reason>`` of a file-system error (``<src> -> <dst>: <reason>`` for a rename)."""
    reason = e.strerror or str(e) or type(e).__name__
    if isinstance(e, FileExistsError) and e.filename is not None and os.path.isfile(e.filename):
        reason = "is a file, a folder is needed here"  # mkdir of an output folder where a file is
    if e.filename is None:
        return reason
    where = str(e.filename) + (f" -> {e.filename2}" if e.filename2 is not None else "")
    return f"{where}: {reason}"


def error_line(e: BaseException) -> str | None:
    """The one-line message of an error a CLI reports without a traceback (``None``: not such an error)."""
    if isinstance(e, DataError):
        return str(e)
    if isinstance(e, OSError):
        return os_error_message(e)
    return None


def exit_with_error(prog: str, e: BaseException) -> None:
    """Print ``prog: error: ...`` and exit with status 1, or re-raise an error that is a bug."""
    line = error_line(e)
    if line is None:
        raise e
    print(f"{prog}: error: {line}", file=sys.stderr)
    sys.exit(1)


def cli_main(func: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap a ``main(argv)`` so that a DataError or an OSError prints ``prog: error: ...`` and exits with status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> int:
        try:
            rc = func(*args, **kwargs)
        except (DataError, OSError) as e:
            exit_with_error(_program_name(func), e)
        return rc or 0

    return wrapper
