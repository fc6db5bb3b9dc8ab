"""Render emotional speaking styles of a "mini" corpus's speakers into a corpus of their own.

    python -m embspace.bin.make_emotion_corpus --base-dir data/corpus --out-dir data/corpus_emotion \
        --utts-per-emotion 3 --nj 2
Reads the base design (``<base-dir>/config.json``; ``speakers.jsonl`` is checked against it), plans
every speaker's emotional utterances from the base seed (see ``embspace.corpus.styles``) and writes
``<out-dir>/wav/<spk>/<utt>.wav``, ``styles.jsonl`` (each speaker's rendering of each emotion),
``config.json`` and, last, ``metadata.jsonl`` (the base corpus fields; ``style`` = the emotion).
The base corpus is only read. A rerun skips wavs already there; another design into the same
folder is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from embspace.cli.args import add_bool, cli_parser
from embspace.corpus.base_corpus import read_base_corpus
from embspace.corpus.styles import PROFILES, EspeakDataDirs, StyleConfig, \
    plan_speaker_styles, plan_styled_utterances, render_styled
from embspace.corpus.writer import check_design, render_all, write_jsonl
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    d = StyleConfig()
    p = cli_parser("make_emotion_corpus", __doc__)
    p.add_argument("--base-dir", required=True, type=Path, help="the base mini corpus (config.json, speakers.jsonl)")
    p.add_argument("--out-dir", required=True, type=Path, help="folder of the emotional corpus")
    p.add_argument("--emotions", default=",".join(d.emotions), help=f"comma list from {','.join(PROFILES)}")
    p.add_argument("--utts-per-emotion", type=int, default=d.utts_per_emotion, help="utterances per speaker and emotion")
    p.add_argument("--expressiveness", type=float, nargs=2, default=list(d.expressiveness), metavar=("LO", "HI"),
                   help="range of the per-speaker acting strength (1 = the full profiles)")
    p.add_argument("--strength-jitter", type=float, default=d.strength_jitter,
                   help="per speaker-emotion strength = expressiveness x U(1 +- this)")
    p.add_argument("--cue-jitter", type=float, default=d.cue_jitter, help="each cue scaled by U(1 +- this)")
    add_bool(p, "--ssml", True, "phrase shapes and pauses through SSML")
    add_bool(p, "--voice-quality", True, "breathiness/creak/flutter/stress (derived espeak variants) and spectral tilt")
    p.add_argument("--seed-offset", type=int, default=d.seed_offset, help="another take of the styles, same base seed")
    p.add_argument("--nj", type=int, default=1, help="worker processes")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nj < 1:
        raise DataError("--nj must be >= 1")
    cfg = StyleConfig(emotions=tuple(e for e in args.emotions.split(",") if e), utts_per_emotion=args.utts_per_emotion,
                      expressiveness=tuple(args.expressiveness), strength_jitter=args.strength_jitter,
                      cue_jitter=args.cue_jitter, ssml=args.ssml, voice_quality=args.voice_quality,
                      seed_offset=args.seed_offset)
    cfg.validate()
    design, base, speakers = read_base_corpus(args.base_dir)
    styles = plan_speaker_styles(speakers, base.seed, cfg)
    items = plan_styled_utterances(speakers, base.seed, cfg, styles, base.pitch_jitter, base.rate_jitter, base.snr_db,
                                   base.pad_s)
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)

    check_design(out_dir, {"base": design, "styles": cfg.to_json()})  # config.json records both designs

    by_spk = {s.speaker: s for s in speakers}
    start = time.time()
    with EspeakDataDirs(list(styles.values()), by_spk) as folders:
        # jobs in speaker order, so that a worker rarely switches espeak data folders
        jobs = [(str(out_dir), it.utt.rel_path, render_styled, (it, by_spk[it.utt.speaker], folders[it.utt.speaker],
                 cfg.voice_quality)) for it in items]
        durations, skipped = render_all(jobs, args.nj, "emotion corpus")

    write_jsonl(out_dir / "styles.jsonl", (dataclasses.asdict(s) for s in styles.values()))
    split = {s.speaker: s.split for s in speakers}
    meta = []
    for it in sorted(items, key=lambda i: i.utt.utt.encode()):
        u, st = it.utt, it.style
        meta.append({"utt": u.utt, "speaker": u.speaker, "gender": u.gender, "language": u.language, "text": u.text,
                     "session": u.session, "noise": u.noise, "snr": u.snr, "style": u.style,
                     "style_strength": st.strength, "voice": u.voice, "pitch": u.pitch, "rate": u.rate,
                     "split": split[u.speaker], "path": u.rel_path, "duration": round(durations[u.rel_path], 4)})
    write_jsonl(out_dir / "metadata.jsonl", meta)
    print(f"make_emotion_corpus: {len(items)} utterances ({len(items) - skipped} made, {skipped} already there), "
          f"{len(speakers)} speakers x {len(cfg.emotions)} emotions x {cfg.utts_per_emotion}, "
          f"{sum(durations.values()) / 3600:.3f} h, {time.time() - start:.1f} s -> {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
