"""User-facing errors and the CLI wrapper that turns them into a clear message and exit code 1."""

from __future__ import annotations

import functools
import sys
from typing import Callable


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


def _program_name(func: Callable) -> str:
    """``train`` for ``python -m embspace.bin.train`` (where ``__module__`` is ``__main__``), ``x`` for ``utils/x.py``."""
    module = func.__module__
    if module == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        module = spec.name if spec else sys.argv[0]
    if module.endswith(".py"):  # a script run by path: utils/fix_data_dir.py -> fix_data_dir
        return module.rsplit("/", 1)[-1].removesuffix(".py")
    return module.rsplit(".", 1)[-1]


def cli_main(func: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap a ``main(argv)`` so that a DataError prints ``error: ...`` and exits with status 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> int:
        try:
            rc = func(*args, **kwargs)
        except DataError as e:
            prog = _program_name(func)
            print(f"{prog}: error: {e}", file=sys.stderr)
            sys.exit(1)
        return rc or 0

    return wrapper
