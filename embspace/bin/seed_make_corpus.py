"""Render the mismatched test conditions of the mini corpus into their own folder.

    python -m embspace.bin.seed_make_corpus --corpus-dir data/corpus --out-dir data/corpus_seed --nj 2

Reads the base design (``<corpus-dir>/config.json``, checked against ``speakers.jsonl``) and adds,
deterministically from its seed: test utterances re-rendered under unseen conditions (strong
reverberation, blue/violet noise at low SNR, babble of other test speakers) and two-speaker
conversations sharing one session (see ``embspace.corpus.mismatch``). The base corpus is only
read. Writes ``<out-dir>/wav/<spk>/<utt>.wav``, ``config.json`` and, last, ``metadata.jsonl``
(``split`` = ``--split``; ``condition`` reverb|noise|babble|conversation, ``session_id``,
``source_utt`` or ``conversation``/``partner``). Reruns skip the wavs already there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from embspace.cli.args import cli_parser
from embspace.corpus.base_corpus import read_base_corpus
from embspace.corpus.mini import plan_utterances
from embspace.corpus.mismatch import MismatchConfig, plan_mismatch, render_degraded, render_segment
from embspace.corpus.writer import check_design, render_all, write_jsonl
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options (defaults = the documented design)."""
    d = MismatchConfig()
    p = cli_parser("seed_make_corpus", __doc__)
    p.add_argument("--corpus-dir", required=True, type=Path, help="the base mini corpus (read only)")
    p.add_argument("--out-dir", required=True, type=Path, help="folder of the additions")
    p.add_argument("--split", default="test_seed", help="split name written into metadata.jsonl")
    p.add_argument("--nj", type=int, default=1, help="worker processes")
    p.add_argument("--degraded-per-speaker", type=int, default=d.degraded_per_speaker,
                   help="test utterances per speaker re-rendered under an unseen condition")
    p.add_argument("--conversations-per-speaker", type=int, default=d.conversations_per_speaker,
                   help="two-speaker sessions each test speaker takes part in")
    p.add_argument("--segments-per-speaker", type=int, default=d.segments_per_speaker,
                   help="utterances of each speaker in each conversation")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nj < 1:
        raise DataError("--nj must be >= 1")
    corpus_dir: Path = args.corpus_dir
    _, cfg, speakers = read_base_corpus(corpus_dir)
    utts = plan_utterances(cfg, speakers)
    mcfg = MismatchConfig(degraded_per_speaker=args.degraded_per_speaker,
                          conversations_per_speaker=args.conversations_per_speaker,
                          segments_per_speaker=args.segments_per_speaker)
    degraded, conversations = plan_mismatch(cfg, speakers, utts, mcfg)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    check_design(out_dir, {"base": cfg.to_json(), "mismatch": mcfg.to_json(), "split": args.split})

    by_spk = {s.speaker: s for s in speakers}
    jobs = [(str(out_dir), d.rel_path, render_degraded, (d, by_spk[d.source.speaker], str(corpus_dir), mcfg))
            for d in degraded]
    jobs += [(str(out_dir), u.rel_path, render_segment, (u, by_spk[u.speaker], c.session))
             for c in conversations for u in c.segments]
    start = time.time()
    durations, skipped = render_all(jobs, args.nj, "mismatch corpus")

    rows = []
    for d in degraded:
        u = d.source
        rows.append({"utt": d.utt, "speaker": u.speaker, "gender": u.gender, "language": u.language, "text": u.text,
                     "condition": d.condition, "source_utt": u.utt, "session_id": f"{u.speaker}-s{u.session}",
                     "split": args.split, "path": d.rel_path, "duration": round(durations[d.rel_path], 4)})
    for c in conversations:
        for u in c.segments:
            partner = c.speakers[1] if u.speaker == c.speakers[0] else c.speakers[0]
            rows.append({"utt": u.utt, "speaker": u.speaker, "gender": u.gender, "language": u.language, "text": u.text,
                         "condition": "conversation", "conversation": c.name, "partner": partner,
                         "session_id": c.name, "noise": u.noise, "snr": u.snr, "split": args.split,
                         "path": u.rel_path, "duration": round(durations[u.rel_path], 4)})
    write_jsonl(out_dir / "metadata.jsonl", sorted(rows, key=lambda r: r["utt"].encode()))
    print(f"seed_make_corpus: {len(degraded)} degraded test utterances, {len(conversations)} conversations "
          f"({len(jobs) - len(degraded)} segments); {len(jobs) - skipped} made, {skipped} already there, "
          f"{time.time() - start:.1f} s -> {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
