"""Generate the offline synthetic multi-speaker corpus "mini" with espeak-ng.

Example:
    python -m embspace.bin.make_mini_corpus --out-dir data/corpus --num-speakers 120 --num-test-speakers 40 --nj 2

Writes ``DIR/wav/<spk>/<utt>.wav`` (16 kHz, 16-bit), ``DIR/speakers.jsonl`` and, last,
``DIR/metadata.jsonl`` (one JSON object per utterance). ``DIR/config.json`` records the design;
a rerun with the same design skips the wavs already there (each is written atomically), a rerun
with another design into the same folder is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from embspace.corpus.mini import NOISE_TYPES, MiniConfig, plan_corpus, render_utterance
from embspace.corpus.writer import check_design, render_all, write_jsonl
from embspace.utils.errors import DataError, cli_main


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each option; the description (with its example) as written."""


def build_parser() -> argparse.ArgumentParser:
    """Command-line options (defaults = the documented corpus design)."""
    d = MiniConfig()
    p = argparse.ArgumentParser(prog="make_mini_corpus", description=__doc__,
                                formatter_class=_HelpFormatter)
    p.add_argument("--out-dir", required=True, type=Path, help="corpus folder")
    p.add_argument("--num-speakers", type=int, default=d.num_speakers, help="speakers in all")
    p.add_argument("--num-test-speakers", type=int, default=d.num_test_speakers, help="disjoint from train")
    p.add_argument("--utts-per-speaker", type=int, default=d.utts_per_speaker, help="utterances per speaker")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the whole design")
    p.add_argument("--second-language-fraction", type=float, default=d.second_language_fraction,
                   help="probability that an utterance is in German (same speaker voice)")
    p.add_argument("--nj", type=int, default=1, help="worker processes")
    g = p.add_argument_group("difficulty knobs")
    g.add_argument("--snr-range", type=float, nargs=2, metavar=("LO", "HI"), default=list(d.snr_db),
                   help="per-utterance SNR in dB")
    g.add_argument("--noise-types", default=",".join(d.noise_types), help=f"comma list from {','.join(NOISE_TYPES)}")
    g.add_argument("--sessions", type=int, nargs=2, metavar=("MIN", "MAX"), default=list(d.sessions),
                   help="recording sessions (channel + noise colour) per speaker")
    g.add_argument("--pitch-jitter", type=int, default=d.pitch_jitter, help="± espeak pitch per utterance")
    g.add_argument("--rate-jitter", type=int, default=d.rate_jitter, help="± words/min per utterance")
    g.add_argument("--max-variants", type=int, default=None,
                   help="use at most this many espeak variants (more sharing = harder); default all")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Plan, render (resumably) and describe the corpus."""
    args = build_parser().parse_args(argv)
    if args.nj < 1:
        raise DataError("--nj must be >= 1")
    cfg = MiniConfig(
        num_speakers=args.num_speakers, num_test_speakers=args.num_test_speakers,
        utts_per_speaker=args.utts_per_speaker, seed=args.seed,
        second_language_fraction=args.second_language_fraction, sessions=tuple(args.sessions),
        snr_db=tuple(args.snr_range), noise_types=tuple(t for t in args.noise_types.split(",") if t),
        pitch_jitter=args.pitch_jitter, rate_jitter=args.rate_jitter, max_variants=args.max_variants,
    )
    speakers, utts = plan_corpus(cfg)  # validates cfg before anything is written
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    check_design(out_dir, cfg.to_json())

    by_spk = {s.speaker: s for s in speakers}
    start = time.time()
    durations, skipped = render_all([(str(out_dir), u.rel_path, render_utterance, (u, by_spk[u.speaker])) for u in utts],
                                    args.nj, "mini corpus")

    split = {s.speaker: s.split for s in speakers}
    write_jsonl(out_dir / "speakers.jsonl", (dataclasses.asdict(s) for s in speakers))
    meta = []
    for u in sorted(utts, key=lambda u: u.utt.encode()):
        meta.append({"utt": u.utt, "speaker": u.speaker, "gender": u.gender, "language": u.language,
                     "text": u.text, "session": u.session, "noise": u.noise, "snr": u.snr, "style": u.style,
                     "voice": u.voice, "pitch": u.pitch, "rate": u.rate, "split": split[u.speaker],
                     "path": u.rel_path, "duration": round(durations[u.rel_path], 4)})
    write_jsonl(out_dir / "metadata.jsonl", meta)
    hours = sum(durations.values()) / 3600
    print(f"make_mini_corpus: {len(utts)} utterances ({len(utts) - skipped} made, {skipped} already there), "
          f"{len(speakers)} speakers, {hours:.3f} h of audio, {time.time() - start:.1f} s -> {out_dir}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
