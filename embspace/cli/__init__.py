"""The ``embspace`` command: ``embspace <command>`` for users (embed, similarity, enhance, align,
import-model, export-onnx, export-torchscript) and ``embspace <group> <command>`` for every recipe tool;
each of those runs ``embspace.bin.<module>.main`` (``python -m embspace.bin.<module>`` is the same program).

    embspace --help                     # every command, grouped, with one line each
    embspace seed --help                # the commands of a group
    embspace seed train --help          # the options of a command
"""

from __future__ import annotations

import sys

from embspace.cli.commands import GROUPS, TOP_LEVEL, entry, summary
from embspace.cli.user import USER_COMMANDS, run

_HELP = ("-h", "--help")


def _usage() -> str:
    lines = ["usage: embspace <command> [options] | embspace <group> <command> [options]", "",
             (__doc__ or "").split("\n\n")[0].replace("\n", " "), "", "commands:"]
    width = max(len(c) for c in (*USER_COMMANDS, *TOP_LEVEL, *(f"{g} {c}" for g, (_, cmds) in GROUPS.items() for c in cmds)))
    for name, text in USER_COMMANDS.items():
        lines.append(f"  {name:<{width}}  {text}")
    for name, module in TOP_LEVEL.items():
        lines.append(f"  {name:<{width}}  {summary(module)}")
    for group, (text, cmds) in GROUPS.items():
        lines += ["", f"{group}: {text}"]
        lines += [f"  {group + ' ' + name:<{width}}  {summary(module)}" for name, module in cmds.items()]
    lines += ["", "embspace <group> --help lists a group; embspace ... <command> --help shows its options."]
    return "\n".join(lines)


def _group_usage(group: str) -> str:
    text, cmds = GROUPS[group]
    width = max(len(c) for c in cmds)
    return "\n".join([f"usage: embspace {group} <command> [options]", "", f"{group}: {text}", "", "commands:",
                      *(f"  {name:<{width}}  {summary(module)}" for name, module in cmds.items())])


def _fail(message: str) -> int:
    print(f"usage: embspace <command> [options]\nembspace: error: {message} (embspace --help lists the commands)",
          file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``embspace`` console script and of ``python -m embspace``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in _HELP:
        print(_usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    head, rest = argv[0], argv[1:]
    if head in USER_COMMANDS:
        return run(head, rest)
    if head in TOP_LEVEL:
        return entry(TOP_LEVEL[head])(rest)
    if head not in GROUPS:
        return _fail(f"unknown command '{head}'")
    if not rest or rest[0] in _HELP:
        print(_group_usage(head), file=sys.stdout if rest else sys.stderr)
        return 0 if rest else 2
    cmds = GROUPS[head][1]
    if rest[0] not in cmds:
        return _fail(f"unknown command '{head} {rest[0]}' (one of: {', '.join(cmds)})")
    return entry(cmds[rest[0]])(rest[1:])


if __name__ == "__main__":
    sys.exit(main())
