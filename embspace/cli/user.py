"""``embspace embed`` and ``embspace similarity``: speaker embeddings and similarity with a model
file (.pt, .onnx or .ts).

    embspace embed --model avg_model.pt --out-dir emb a.wav b.wav       # emb/xvector.ark + xvector.scp
    embspace embed --model model.onnx --out-dir emb data/test/wav.scp   # keys from the wav.scp
    embspace similarity --model avg_model.pt a.wav b.wav                # prints the cosine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.utils.errors import DataError


def _inputs(paths: list[str]) -> list[tuple[str, str]]:
    """``(key, wav path)``: one ``.scp`` file (``key path`` lines) or wav files keyed by file stem."""
    from embspace.data.tables import read_table

    if len(paths) == 1 and paths[0].endswith(".scp"):
        items = list(read_table(paths[0], rest_as_string=True).items())
        for key, value in items:
            if value.endswith("|"):
                raise DataError("pipes are not supported here (write the audio to files)", paths[0], key=key)
        return items
    keys: dict[str, str] = {}
    for p in paths:
        stem = Path(p).stem
        if stem in keys:
            raise DataError(f"two inputs have the key '{stem}' ({keys[stem]}, {p}); use a wav.scp", p)
        keys[stem] = p
    return list(keys.items())


def _embed(args: argparse.Namespace) -> None:
    from embspace.api import load_model
    from embspace.embio import write_embeddings

    model = load_model(args.model, num_threads=args.num_threads)
    items = _inputs(args.inputs)
    out = Path(args.out_dir)
    n = write_embeddings(out / "xvector.ark", out / "xvector.scp",
                         ((key, model.embed(path, channel=args.channel)) for key, path in items))
    print(f"embspace embed: {n} embeddings -> {out / 'xvector.scp'}", file=sys.stderr)


def _similarity(args: argparse.Namespace) -> None:
    from embspace.api import load_model

    model = load_model(args.model, num_threads=args.num_threads)
    print(f"{model.similarity(args.a, args.b):.6f}")


USER_COMMANDS = {"embed": "embeddings of wav files or a wav.scp into <out-dir>/xvector.ark/scp",
                 "similarity": "cosine similarity of two recordings' embeddings"}


def run(command: str, argv: list[str]) -> int:
    """``embspace embed|similarity ARGS``; bad input is ``embspace: error: ...`` and exit 1."""
    try:
        return _run(command, argv)
    except DataError as e:
        print(f"embspace: error: {e}", file=sys.stderr)
        sys.exit(1)


def _run(command: str, argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="embspace", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("embed", help=USER_COMMANDS["embed"])
    e.add_argument("--model", required=True, help="embspace model file (.pt, trained or imported), .onnx or .ts")
    e.add_argument("--out-dir", required=True, help="writes xvector.ark and xvector.scp here")
    e.add_argument("--channel", type=int, help="channel of multi-channel files (default: mono files only)")
    e.add_argument("--num-threads", type=int, default=1, help="CPU threads (default: %(default)s)")
    e.add_argument("inputs", nargs="+", help="wav files (keys: file names without extension) or one wav.scp")
    e.set_defaults(func=_embed)
    s = sub.add_parser("similarity", help=USER_COMMANDS["similarity"])
    s.add_argument("--model", required=True, help="embspace model file (.pt), .onnx or .ts")
    s.add_argument("--num-threads", type=int, default=1, help="CPU threads (default: %(default)s)")
    s.add_argument("a", help="first wav file")
    s.add_argument("b", help="second wav file")
    s.set_defaults(func=_similarity)
    args = p.parse_args([command, *argv])
    args.func(args)
    return 0
