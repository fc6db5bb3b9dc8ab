#!/usr/bin/env python3
"""Example external TTS for INSIDE's ``command`` backend: espeak-ng driven by the job's embedding.

    steps/inside/tts_espeak.py [--rate 16000] [--model exp/inside/condnet/model.pt] jobs.JOB.jsonl

Reads the job list (one JSON object per line: identity, utt, text, language, embedding, output,
seed; see embspace/inside/backends/command.py), and writes each ``output`` as a mono WAV file.
Replace this script by a wrapper around your own zero-shot TTS (one that can be conditioned on a
speaker vector in its own encoder space): load the model once, then loop over the jobs.

The voice: with ``--model`` (a conditioning network from ``inside_train_condnet``, embeddings in
its encoder's space) the built-in espeak backend is used; without, a fixed random projection of
the embedding (any shape, flattened) picks an espeak-ng variant, a pitch and a rate, so that nearby
embeddings get similar voices. That stand-in is only a demonstration of the protocol, not a model
of any real TTS. ``--rate`` writes another sampling rate (the collect step then needs ``--resample true``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))  # a source checkout that is not pip-installed

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from embspace.utils.errors import cli_main  # noqa: E402


def projection_voice(emb: np.ndarray) -> tuple[str, int, int]:
    """(variant, pitch 0-99, rate wpm) from a fixed random projection of the unit embedding."""
    from embspace.corpus.mini import VARIANT_GENDER

    x = np.asarray(emb, dtype=np.float64).reshape(-1)
    x = x / max(np.linalg.norm(x), 1e-12)
    variants = sorted(VARIANT_GENDER)
    rng = np.random.default_rng(12345)
    proj = rng.standard_normal((len(variants) + 2, x.size)) / math.sqrt(x.size)
    p = proj @ x
    variant = variants[int(np.argmax(p[:-2]))]
    pitch = int(round(50 + 45 * math.tanh(3 * p[-2])))
    rate = int(round(165 + 35 * math.tanh(3 * p[-1])))
    return variant, pitch, rate


@cli_main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="inside_tts_espeak.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jobs", help="job list (JSONL)")
    ap.add_argument("--rate", type=int, default=16000, help="sampling rate of the written files (default 16000)")
    ap.add_argument("--model", help="conditioning network of the built-in espeak backend (embedding in its space)")
    args = ap.parse_args(argv)
    from embspace.corpus.espeak import get_synth, resample_poly

    backend = None
    if args.model:
        from embspace.inside.backend import build_backend

        backend = build_backend("espeak", model=args.model)
    jobs = [json.loads(line) for line in Path(args.jobs).read_text(encoding="utf-8").splitlines() if line.strip()]
    for job in jobs:
        emb = np.load(job["embedding"], allow_pickle=False)
        if backend is not None:
            wav = backend.synthesize(emb.reshape(-1), [job["text"]], job["language"])[0]
        else:
            variant, pitch, rate = projection_voice(emb)
            voice = f"{'en-us' if job['language'] == 'en' else job['language']}+{variant}"
            wav = get_synth().synth(job["text"], voice, rate=rate, pitch=pitch, seed=int(job["seed"]))
        if args.rate != 16000:
            g = math.gcd(args.rate, 16000)
            wav = resample_poly(wav, args.rate // g, 16000 // g)
        out = Path(job["output"])
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".tmp{os.getpid()}.{out.name}")
        sf.write(str(tmp), wav, args.rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, out)
    print(f"inside_tts_espeak: {len(jobs)} utterances from {args.jobs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
