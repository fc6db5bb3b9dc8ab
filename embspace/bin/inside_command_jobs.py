"""INSIDE with an external TTS (the ``command`` backend): write job lists, or collect and validate outputs.

    python -m embspace.bin.inside_command_jobs write --identities exp/inside/identities \
        --work-dir exp/inside/synth/tts --out-dir exp/inside/synth --nj 4 --utts-per-identity 10
    $cmd JOB=1:4 exp/inside/synth/tts/log/tts.JOB.log steps/inside/tts_espeak.py exp/inside/synth/tts/jobs.JOB.jsonl
    python -m embspace.bin.inside_command_jobs collect --identities exp/inside/identities \
        --work-dir exp/inside/synth/tts --out-dir exp/inside/synth --nj 4 [--resample true]

``write``: ``<work-dir>/emb/<id>.npy`` (each identity's conditioning vector) and
``<work-dir>/jobs.<n>.jsonl`` (one line per utterance: identity, utt, text, language, embedding,
output, seed; see embspace/inside/backends/command.py), leaving out identities already collected.
``collect``: every output must exist and be mono, non-empty 16 kHz audio (other rates only with
``--resample true``); identities whose outputs are all good are saved into ``<out-dir>`` (wavs and
records, as inside_synthesize writes them), the others are reported (exit 1) and redone on a rerun.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from embspace.cli.args import add_bool, cli_parser
from embspace.bin._inside_options import add_text_options, synthesis_options
from embspace.inside.backends.command import collect, pending, write_jobs
from embspace.inside.expand import load_texts
from embspace.inside.identities import read_identities
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = cli_parser("inside_command_jobs", __doc__)
    p.add_argument("action", choices=["write", "collect"], help="write the job lists, or collect the outputs")
    p.add_argument("--identities", required=True, help="folder with identities.jsonl and conditioning.npy")
    p.add_argument("--work-dir", required=True, help="job lists, embeddings and the command's outputs")
    p.add_argument("--out-dir", required=True, help="synthesis folder (wav/, records/) the outputs are collected into")
    p.add_argument("--nj", type=int, default=1, help="number of job lists")
    add_bool(p, "--resample", False, "collect: resample outputs that are not at 16 kHz instead of rejecting them")
    p.add_argument("--space", default="external", help="name of the TTS's conditioning space, kept in the records")
    add_text_options(p)
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    idents, cond = read_identities(args.identities)
    opts = synthesis_options(args)
    work = Path(args.work_dir)
    texts = load_texts(args.text_source, args.language, args.text_format)
    todo = pending(idents, cond, texts, opts, args.out_dir, args.space)
    if args.action == "write":
        files = write_jobs([idents[i] for i in todo], cond[todo], texts, opts, work, args.nj)
        (work / "log").mkdir(parents=True, exist_ok=True)
        print(f"inside_command_jobs: {len(todo)} identities to synthesise ({len(idents) - len(todo)} already done) "
              f"in {len(files)} job lists -> {work}", file=sys.stderr)
        return 0
    files = [work / f"jobs.{j}.jsonl" for j in range(1, args.nj + 1)]
    res = collect(idents, cond, files, args.out_dir, opts, args.resample, space=args.space)
    missing = [idents[i].id for i in pending(idents, cond, texts, opts, args.out_dir, args.space)]
    if missing:
        raise DataError(f"{len(missing)} identities have no job and no output; run 'write' again", files[0],
                        key=missing[0])
    print(f"inside_command_jobs: collected {res['saved']} identities -> {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
