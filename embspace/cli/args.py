"""Options shared by the command-line tools (``embspace.bin.*`` and ``embspace``).

One style for each kind of option: booleans take a value (``--use-gpu true``, as Kaldi recipes pass
them; true/false, yes/no, 1/0) or stand alone for true (``--resample``); ``NAME=VALUE`` pairs are
split by :func:`name_value`/:func:`name_values`, lists by :func:`int_list`; ``--job``/``--nj``,
``--device``/``--use-gpu`` and the audio-check options have one definition each. A YAML file of
option defaults (``--config``) is read by :func:`parse_with_config`; errors that library code finds in
options (:class:`~embspace.utils.errors.UsageError`) become usage errors in :func:`usage_errors`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Iterator

from embspace.utils.errors import UsageError

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def cli_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of a CLI: its name and its module docstring, kept as written (examples)."""
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


@contextlib.contextmanager
def usage_errors(p: argparse.ArgumentParser) -> Iterator[None]:
    """Report a :class:`~embspace.utils.errors.UsageError` raised inside as ``p.error`` (exit status 2)."""
    try:
        yield
    except UsageError as e:
        p.error(str(e))


def str2bool(value: str) -> bool:
    """``true``/``false`` (also yes/no, 1/0, any case) as a bool; anything else is a usage error."""
    v = value.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def add_bool(p: argparse.ArgumentParser | Any, flag: str, default: bool, help: str) -> None:
    """A boolean option: ``flag true|false`` (Kaldi style), or ``flag`` alone for true."""
    p.add_argument(flag, type=str2bool, nargs="?", const=True, default=default, metavar="true|false",
                   help=f"{help} (default: {'true' if default else 'false'})")


def name_value(value: str, what: str = "NAME=VALUE", allow_slash: bool = True) -> tuple[str, str]:
    """``NAME=VALUE`` as ``(name, value)``; both non-empty (a usage error otherwise)."""
    name, sep, rest = value.partition("=")
    if not sep or not name or not rest or (not allow_slash and "/" in name):
        extra = "" if allow_slash else " (NAME without '/')"
        raise argparse.ArgumentTypeError(f"expected {what}{extra}, got {value!r}")
    return name, rest


def name_path(value: str) -> tuple[str, str]:
    """``NAME=PATH`` (an argparse ``type``): NAME without ``/``."""
    return name_value(value, "NAME=PATH", allow_slash=False)


def name_values(items: list[str], p: argparse.ArgumentParser, flag: str, what: str = "NAME=VALUE",
                allow_empty_value: bool = False, unique: bool = True) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options as a dict; a missing ``=``, an empty name (or value) or, with
    ``unique``, a name given twice is ``p.error`` naming ``flag`` (else the last one counts)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or (not value and not allow_empty_value):
            p.error(f"{flag} expects {what}, got {item!r}")
        if unique and name in out:
            p.error(f"{flag}: name {name!r} given twice")
        out[name] = value
    return out


def int_list(value: str | list) -> list[int]:
    """``1,2 3`` (commas or spaces) or a YAML list as a list of ints."""
    if isinstance(value, list):
        return [int(x) for x in value]
    return [int(x) for x in value.replace(",", " ").split()] if value.strip() else []


def add_job_options(p: argparse.ArgumentParser, what: str = "the cuts") -> None:
    """``--job`` (1-based) and ``--nj``; ``what`` names what is split over the jobs."""
    p.add_argument("--job", type=int, default=1, help="this job's number, 1..nj (default: %(default)s)")
    p.add_argument("--nj", type=int, default=1, help=f"number of jobs {what} are split into (default: %(default)s)")


def check_job_options(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) unless ``1 <= --job <= --nj``."""
    if args.nj < 1:
        p.error(f"--nj must be at least 1, got {args.nj}")
    if not 1 <= args.job <= args.nj:
        p.error(f"--job {args.job} is outside 1..{args.nj} (--nj {args.nj})")


def add_device(p: argparse.ArgumentParser, default: str, help: str) -> None:
    """``--device auto|cpu|cuda`` (auto: CUDA when available)."""
    p.add_argument("--device", default=default, choices=["auto", "cpu", "cuda"], help=help)


def add_use_gpu(p: argparse.ArgumentParser, help: str = "run on CUDA") -> None:
    """``--use-gpu true|false`` (Kaldi style, default false)."""
    add_bool(p, "--use-gpu", False, help)


def gpu_device(args: argparse.Namespace):
    """The torch device ``--use-gpu`` asks for."""
    from embspace.training.distributed import pick_device

    return pick_device("cuda" if args.use_gpu else "cpu", 0)


def add_audio_options(p: argparse.ArgumentParser, channel: bool = True, bad_list: bool = True) -> None:
    """``--sampling-rate``, ``--resample``, ``--nj``, (``channel``) ``--channel`` and (``bad_list``) ``--bad-list``."""
    p.add_argument("--sampling-rate", type=int, default=16000, help="expected sampling rate in Hz (default: %(default)s)")
    add_bool(p, "--resample", False, "accept other rates and resample to --sampling-rate when audio is loaded "
                                      "(lhotse); false: a file at another rate is an error")
    if channel:
        p.add_argument("--channel", type=int, default=None, metavar="N",
                       help="use channel N (0-based) of multi-channel files; default: every file must be mono")
    p.add_argument("--nj", type=int, default=0, help="processes for the audio check (0: the CPUs, at most 8)")
    if bad_list:
        p.add_argument("--bad-list", default=None, metavar="FILE",
                       help="write every file that fails the audio checks to FILE (key, path, cause; the error "
                            "names the first 10), e.g. --bad-list exp/bad_audio.txt")


def audio_policy(args: argparse.Namespace):
    """The :class:`~embspace.data.audio_check.AudioPolicy` the options of :func:`add_audio_options` ask for."""
    from embspace.data.audio_check import AudioPolicy

    return AudioPolicy(sampling_rate=args.sampling_rate, resample=args.resample, channel=getattr(args, "channel", None),
                       bad_list=getattr(args, "bad_list", None))


def parse_with_config(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Options, with defaults from the YAML file of ``--config`` (keys: long option names); an unknown
    key or a bad value is a DataError naming the file and the key. The command line wins."""
    import yaml

    from embspace.utils.errors import DataError

    args = list(sys.argv[1:] if argv is None else argv)
    config = next((a.split("=", 1)[1] for a in args if a.startswith("--config=")), None)
    if "--config" in args and args.index("--config") + 1 < len(args):
        config = args[args.index("--config") + 1]
    if config:
        path = Path(config)
        if not path.is_file():
            raise DataError("config not found", path)
        cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(cfg, dict):
            raise DataError("expected a YAML mapping", path)
        known = {a.dest: a for a in parser._actions}
        converted = {}
        for key, value in cfg.items():
            action = known.get(str(key).replace("-", "_"))
            if action is None or action.dest in ("help", "config"):
                raise DataError("unknown option", path, key=str(key))
            try:
                converted[action.dest] = action.type(value) if action.type and isinstance(value, (str, list, dict)) else value
            except (argparse.ArgumentTypeError, ValueError) as e:
                raise DataError(f"bad value {value!r}: {e}", path, key=str(key)) from None
            if action.choices and converted[action.dest] not in action.choices:
                raise DataError(f"{value!r} is not one of {', '.join(map(str, action.choices))}", path, key=str(key))
        parser.set_defaults(**converted)
    return parser.parse_args(argv)


def setup_logging() -> None:
    """INFO log lines with time and level on stdout (the training CLIs' log format)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
